/**
 * The HTTPS listener's files (`server.tls`, DESIGN.md §13): read at start (a file that cannot be
 * read or a key that does not match its certificate is a one-line start-up failure), re-read on
 * SIGHUP and when they change (fs.watch on their directories, debounced, so a Kubernetes secret's
 * symlink swap is seen). New connections get the new certificate (`setSecureContext`); open
 * connections and streams keep theirs. A bad new set is logged and the old one kept.
 */
import { EventEmitter } from 'node:events';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerTls } from '../config/server-tls-schema.js';
import { Errors } from '../errors.js';
import { fileUnreadable } from './startup-errors.js';

interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reads the files; throws FILE_UNREADABLE or TLS_INVALID (what is wrong, in words). */
function readTlsFiles(t: ServerTls): TlsFiles {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw fileUnreadable(what, path, e as NodeJS.ErrnoException);
    }
  };
  const files = {
    cert: read('the TLS certificate (server.tls.cert)', t.cert),
    key: read('the TLS key (server.tls.key)', t.key),
    // Several CA files are one PEM bundle.
    ca: t.clientCa
      ? Buffer.concat(t.clientCa.flatMap((f) => [read('the client CA (server.tls.clientCa)', f), Buffer.from('\n')]))
      : undefined,
  };
  try {
    createSecureContext(files);
  } catch (e) {
    const reason = (e as Error).message;
    throw new Errors.TLS_INVALID(
      /mismatch/i.test(reason) ? `the key does not match the certificate (${reason})` : reason,
    );
  }
  return files;
}

const describe = (cert: Buffer) => {
  try {
    const x = new X509Certificate(cert);
    return { fingerprint256: x.fingerprint256, subject: x.subject.replace(/\n/g, ', '), validTo: x.validTo };
  } catch {
    return {};
  }
};

/** The `https` options of the listener: the files, and which client certificates it asks for. */
export function httpsOptions(t: ServerTls): { options: ServerOptions; files: TlsFiles } {
  const files = readTlsFiles(t);
  const options = {
    ...files,
    requestCert: t.clientAuth !== 'none',
    // `optional` lets a connection without (or with an unverified) certificate through; `require` refuses it.
    rejectUnauthorized: t.clientAuth === 'require',
  };
  return { options, files };
}

export interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

export type TlsReloadResult = 'reloaded' | 'unchanged' | 'failed';

/** Keeps the listener's certificate current; emits `reload` with each result. */
export class TlsReloader extends EventEmitter {
  private current: TlsFiles;
  private readonly watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly t: ServerTls,
    private readonly server: SecureServer,
    initial: TlsFiles,
    private readonly log: FastifyBaseLogger,
    private readonly debounceMs = 300,
  ) {
    super();
    this.current = initial;
    log.info({ event: 'tls.loaded', ...describe(initial.cert) }, 'TLS certificate loaded');
    this.warnIfExpired(initial.cert);
  }

  /** Watches the files' directories (any change there: editors and secret mounts replace, not write). */
  watch(): void {
    const dirs = new Set([this.t.cert, this.t.key, ...(this.t.clientCa ?? [])].map((f) => dirname(f)));
    for (const dir of dirs) {
      const w = watch(dir, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reload('watch'), this.debounceMs);
      });
      w.on('error', (e) => this.log.warn({ event: 'tls.watch_failed', dir, reason: e.message }, 'watching failed'));
      this.watchers.push(w);
    }
  }

  /** Re-reads the files; a new valid set is used for new connections, a bad one is logged and ignored. */
  reload(trigger: string): TlsReloadResult {
    let next: TlsFiles;
    try {
      next = readTlsFiles(this.t);
    } catch (e) {
      this.log.warn(
        { event: 'tls.reload_failed', trigger, reason: (e as Error).message },
        'the new TLS files were not used: the current certificate stays',
      );
      return this.done('failed');
    }
    const same = (a?: Buffer, b?: Buffer) => (a && b ? a.equals(b) : a === b);
    if (same(next.cert, this.current.cert) && same(next.key, this.current.key) && same(next.ca, this.current.ca))
      return this.done('unchanged');
    this.server.setSecureContext(next);
    this.current = next;
    this.log.info({ event: 'tls.reloaded', trigger, ...describe(next.cert) }, 'TLS certificate reloaded');
    this.warnIfExpired(next.cert);
    return this.done('reloaded');
  }

  /** Served all the same (clients decide), but said: an expired certificate is an outage for most of them. */
  private warnIfExpired(cert: Buffer): void {
    const { validTo } = describe(cert);
    if (validTo && Date.parse(validTo) < Date.now())
      this.log.warn({ event: 'tls.expired', validTo }, `the TLS certificate expired on ${validTo}`);
  }

  private done(result: TlsReloadResult): TlsReloadResult {
    this.emit('reload', result);
    return result;
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) w.close();
  }
}
