/**
 * A throwaway certificate authority for TLS tests, made with `openssl` in a temp dir: a CA,
 * server certificates for 127.0.0.1/localhost, and client certificates (PEM files on disk).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  cert: string;
  key: string;
  /** Node's `fingerprint256` (AB:CD:…), what `clientCertificates[].sha256` takes. */
  fingerprint: string;
  pem: () => Buffer;
  keyPem: () => Buffer;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  readonly cert: string;
  readonly key: string;
  private serial = 1;

  constructor(readonly name = 'Test CA') {
    this.cert = join(this.dir, `${this.slug(name)}.crt`);
    this.key = join(this.dir, `${this.slug(name)}.key`);
    openssl([
      'req',
      '-x509',
      ...EC,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      this.key,
      '-out',
      this.cert,
    ]);
  }

  pem(): Buffer {
    return readFileSync(this.cert);
  }

  /** A server certificate for 127.0.0.1 and localhost. */
  server(cn = '127.0.0.1', outDir = this.dir): Issued {
    return this.issue(cn, { san: 'IP:127.0.0.1,DNS:localhost', outDir });
  }

  /** A client certificate (extendedKeyUsage clientAuth). */
  client(cn: string, outDir = this.dir): Issued {
    return this.issue(cn, { client: true, outDir });
  }

  private slug(s: string) {
    return s.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  }

  /** A certificate for `cn`: `san` like `IP:127.0.0.1,DNS:backend.internal`; server use unless `client`. */
  issue(cn: string, opts: { san?: string; client?: boolean; outDir?: string } = {}): Issued {
    const base = join(opts.outDir ?? this.dir, `${this.slug(cn)}-${this.serial}`);
    const ext = `${base}.ext`;
    const usage = opts.client ? 'clientAuth' : 'serverAuth';
    const san = opts.san ? `subjectAltName=${opts.san}` : '';
    writeFileSync(ext, [`extendedKeyUsage=${usage}`, 'basicConstraints=CA:FALSE', san].join('\n'));
    openssl(['req', '-new', ...EC, '-subj', `/CN=${cn}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      this.cert,
      '-CAkey',
      this.key,
      '-set_serial',
      String(this.serial++),
      '-days',
      '1',
      '-extfile',
      ext,
      '-out',
      `${base}.crt`,
    ]);
    const cert = `${base}.crt`;
    const key = `${base}.key`;
    return {
      cert,
      key,
      fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256,
      pem: () => readFileSync(cert),
      keyPem: () => readFileSync(key),
    };
  }
}
