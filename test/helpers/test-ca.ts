/**
 * A throwaway certificate authority made with openssl in a temp dir: its certificate, and server or
 * client certificates it signs (EC P-256, one day), as file paths and PEM text.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM file and text). */
  caFile: string;
  ca: string;
  /** A certificate for `cn` signed by this CA: `san` like `IP:127.0.0.1,DNS:backend.internal`; client or server use. */
  issue(cn: string, opts?: { san?: string; client?: boolean }): Issued;
}

const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makeTestCa(name = 'Test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const caExt = join(dir, 'ca.ext');
  writeFileSync(caExt, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  ossl(['req', '-x509', ...EC, '-days', '1', '-subj', `/CN=${name}`, '-keyout', caKey, '-out', caFile]);
  // Re-signed with CA extensions (older openssl `req -x509` lacks -addext everywhere).
  const csr = join(dir, 'ca.csr');
  ossl(['req', '-new', '-key', caKey, '-subj', `/CN=${name}`, '-out', csr]);
  ossl(['x509', '-req', '-in', csr, '-signkey', caKey, '-days', '1', '-extfile', caExt, '-out', caFile]);
  let serial = 1;
  return {
    dir,
    caFile,
    ca: readFileSync(caFile, 'utf8'),
    issue(cn, opts = {}) {
      const base = join(dir, `${cn.replace(/[^a-z0-9]/gi, '_')}-${serial}`);
      const ext = `${base}.ext`;
      const lines = [
        'basicConstraints=CA:FALSE',
        `extendedKeyUsage=${opts.client ? 'clientAuth' : 'serverAuth'}`,
        ...(opts.san ? [`subjectAltName=${opts.san}`] : []),
      ];
      writeFileSync(ext, `${lines.join('\n')}\n`);
      ossl(['req', '-new', ...EC, '-subj', `/CN=${cn}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
      ossl([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        caFile,
        '-CAkey',
        caKey,
        '-set_serial',
        String(serial++),
        '-days',
        '1',
        '-extfile',
        ext,
        '-out',
        `${base}.pem`,
      ]);
      return {
        certFile: `${base}.pem`,
        keyFile: `${base}.key`,
        cert: readFileSync(`${base}.pem`, 'utf8'),
        key: readFileSync(`${base}.key`, 'utf8'),
      };
    },
  };
}
