/**
 * The TestCa of cert-authority.ts seen as file paths and PEM text (the outbound TLS tests' shape):
 * its certificate, and server or client certificates it signs.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { TestCa as Authority } from './cert-authority.js';

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

export function makeTestCa(name = 'Test CA'): TestCa {
  const authority = new Authority(name);
  return {
    dir: authority.dir,
    caFile: authority.cert,
    ca: readFileSync(authority.cert, 'utf8'),
    issue(cn, opts = {}) {
      const issued = authority.issue(cn, opts);
      return {
        certFile: issued.cert,
        keyFile: issued.key,
        cert: issued.pem().toString(),
        key: issued.keyPem().toString(),
      };
    },
  };
}

/** TLS options of a server presenting `server` that demands a client certificate `pki` signed. */
export function clientCertRequired(server: Issued, pki: TestCa): ServerOptions {
  return { key: server.key, cert: server.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: true };
}
