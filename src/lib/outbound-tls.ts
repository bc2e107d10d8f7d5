/**
 * Outbound TLS (DESIGN.md §13): the CAs every outbound call trusts — Node's roots plus `tls.ca` — as one
 * undici Agent and one fetch, and a backend's own `http.tls` (its CA, client certificate, server name)
 * as the connect options of that backend's pools. Without `tls.ca` nothing changes: Node's defaults.
 */
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { Socket } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher } from 'undici';
import { Errors } from '../errors.js';

/** The config's shape: file paths (`ca` one or a list) and a server name. */
export interface TlsFiles {
  ca?: string | string[];
  cert?: string;
  key?: string;
  serverName?: string;
}

/** undici's `connect` TLS options (node:tls names). */
export interface TlsConnect {
  ca?: string[];
  cert?: string;
  key?: string;
  servername?: string;
}

const paths = (v?: string | string[]) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A PEM file the config names; unreadable: FILE_UNREADABLE naming the config key (a start-up failure). */
function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const fix = err.code === 'ENOENT' ? 'check the path' : 'check the file and its permissions';
    throw new Errors.FILE_UNREADABLE(what, file, err.code ?? err.message, fix);
  }
}

/** What Node trusts by default: its roots, and NODE_EXTRA_CA_CERTS (newer Node: also the system store if asked). */
function defaultRoots(): string[] {
  const get = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  if (get) return get('default');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  let more: string[] = [];
  if (extra) {
    try {
      more = [readFileSync(extra, 'utf8')];
    } catch {
      /* Node itself warned about it at start */
    }
  }
  return [...tls.rootCertificates, ...more];
}

export class OutboundTls {
  /** Node's roots plus `tls.ca`; undefined without `tls.ca` (Node's defaults stand). */
  readonly ca?: string[];
  /** For every outbound fetch and request that is not a backend's: undefined without `tls.ca` (the global one). */
  readonly dispatcher?: Dispatcher;
  /** fetch trusting `ca`: openid-client (customFetch), jose (customFetch), introspection, the probes. */
  readonly fetch: typeof fetch;
  /** backendFetch's, by the backend's `http.tls`. */
  private readonly backendFetches = new Map<string, { agent: Agent; fetch: typeof fetch }>();

  constructor(files: { ca?: string | string[] } = {}) {
    const extra = paths(files.ca).map((f) => readPem(f, 'tls.ca'));
    if (!extra.length) {
      this.fetch = (input, init) => globalThis.fetch(input, init);
      return;
    }
    this.ca = [...defaultRoots(), ...extra];
    const agent = new Agent({ connect: { ca: this.ca } });
    this.dispatcher = agent;
    this.fetch = (input, init) => {
      // A dispatcher already given (oidc-provider's guard) keeps its own TLS settings.
      const given = (init as { dispatcher?: unknown } | undefined)?.dispatcher;
      return undiciFetch(input as never, { ...(init as object), dispatcher: given ?? agent } as never) as never;
    };
  }

  /**
   * The TLS options of a backend's pools: `tls.ca` and its own `ca` trusted beside Node's roots, its client
   * certificate, the name its certificate is checked against (`serverName`; also sent as SNI).
   * `where` names the config key in errors (`backends[2].http.tls`).
   */
  backend(files: TlsFiles | undefined, where: string): TlsConnect {
    if (!files) return this.ca ? { ca: this.ca } : {};
    const own = paths(files.ca).map((f) => readPem(f, `${where}.ca`));
    const out: TlsConnect = {};
    if (own.length) out.ca = [...(this.ca ?? defaultRoots()), ...own];
    else if (this.ca) out.ca = this.ca;
    if (files.cert) out.cert = readPem(files.cert, `${where}.cert`);
    if (files.key) out.key = readPem(files.key, `${where}.key`);
    if (files.serverName) out.servername = files.serverName;
    return out;
  }

  /** A fetch for a backend's own URLs (its RFC 9728 metadata) with its `http.tls`; undefined without one. */
  backendFetch(files: TlsFiles | undefined, where: string): typeof fetch | undefined {
    if (!files) return undefined;
    const key = JSON.stringify(files);
    let held = this.backendFetches.get(key);
    if (!held) {
      const agent = new Agent({ connect: new BackendConnector(this.backend(files, where)).connect });
      const f: typeof fetch = (input, init) =>
        undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never) as never;
      held = { agent, fetch: f };
      this.backendFetches.set(key, held);
    }
    return held.fetch;
  }

  async close(): Promise<void> {
    await this.dispatcher?.close().catch(() => undefined);
    for (const { agent } of this.backendFetches.values()) await agent.close().catch(() => undefined);
  }
}

const TLS_CODE = /^ERR_(SSL|TLS)_/;

const closedAfterHandshake = () =>
  Object.assign(
    new Error(
      'the server closed the connection after the TLS handshake without a word (no TLS alert): ' +
        'it most likely refused the client certificate',
    ),
    { code: 'ERR_TLS_CLOSED_AFTER_HANDSHAKE' },
  );

/**
 * A backend pool's connector (`tls` options, a connect timeout) that remembers why the server ended a
 * TLS connection: with TLS 1.3 a refused client certificate arrives as an alert after the handshake,
 * and undici reports only "other side closed" (its SocketError names the socket's local port).
 */
export class BackendConnector {
  readonly connect: buildConnector.connector;
  /** Alerts by local port, kept until a few seconds after the socket closed. */
  private readonly alerts = new Map<number, Error>();

  constructor(options: TlsConnect, timeout?: number) {
    const base = timeout === undefined ? { ...options } : { ...options, timeout };
    const connector = buildConnector(base as buildConnector.BuildOptions);
    // undici would otherwise take the name from the Host header.
    const servername = options.servername;
    this.connect = (opts, callback) =>
      connector(servername ? { ...opts, servername } : opts, (err, socket) => {
        if (socket && opts.protocol === 'https:') this.watch(socket, Boolean(options.cert));
        (callback as (e: Error | null, s: typeof socket) => void)(err, socket);
      });
  }

  private watch(socket: Socket, clientCert: boolean): void {
    const port = socket.localPort;
    if (port === undefined) return;
    const remember = (e: Error) => {
      this.alerts.set(port, e);
      socket.once('close', () => setTimeout(() => this.alerts.delete(port), 5000).unref());
    };
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (TLS_CODE.test(String(e.code))) remember(e);
    });
    // Some servers (Node's own) refuse a client certificate by closing the connection, with no alert.
    if (clientCert)
      socket.once('end', () => {
        if (socket.bytesRead === 0 && !this.alerts.has(port)) remember(closedAfterHandshake());
      });
  }

  /** The TLS alert behind undici's "other side closed" (UND_ERR_SOCKET), when the server sent one. */
  alertBehind(err: unknown): Error | undefined {
    const e = err as { code?: string; socket?: { localPort?: number } } | undefined;
    const port = e?.code === 'UND_ERR_SOCKET' ? e.socket?.localPort : undefined;
    return port === undefined ? undefined : this.alerts.get(port);
  }
}
