/**
 * Client certificates as principals (`clientCertificates`, DESIGN.md §13): a certificate the TLS
 * handshake verified against `server.tls.clientCa` is the principal configured for its DER
 * SHA-256 fingerprint (found by Map, confirmed by a constant-time comparison). A verified
 * certificate that is not listed, or one that did not verify (`clientAuth: optional`), is no
 * principal: the request falls through to the other sources, and without one it gets 401.
 */
import type { FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { ClientCertificateConfig } from '../config/server-tls-schema.js';
import { safeEqualHex } from '../lib/crypto.js';
import { configuredPrincipal, type Principal } from './principal.js';

type Index = Map<string, { digest: string; principal: Principal }>;

/** `AB:CD:…` (Node's `fingerprint256`) or hex of any case, as 64 lowercase hex. */
export const normalFingerprint = (f: string): string => f.replace(/:/g, '').toLowerCase();

export class ClientCertificates {
  private readonly byDigest: Index = new Map();

  constructor(list: readonly ClientCertificateConfig[]) {
    for (const c of list) {
      const digest = normalFingerprint(c.sha256);
      if (this.byDigest.has(digest))
        throw new Error(`clientCertificates: "${c.name}" has the same sha256 as another certificate`);
      this.byDigest.set(digest, { digest, principal: configuredPrincipal(c, 'clientCertificate') });
    }
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The principal of a listed certificate, by its SHA-256 fingerprint; undefined when not listed. */
  lookup(fingerprint256: string): Principal | undefined {
    const digest = normalFingerprint(fingerprint256);
    const entry = this.byDigest.get(digest);
    if (!entry || !safeEqualHex(digest, entry.digest)) return undefined;
    return entry.principal;
  }
}

/** The fingerprint of each connection's verified peer certificate, read once per connection. */
const verified = new WeakMap<object, string | null>();
/** Connections whose unlisted certificate was logged (once each, with the fingerprint to list it by). */
const told = new WeakSet<object>();

function peerFingerprint(socket: Partial<TLSSocket> | undefined): string | null {
  if (!socket || typeof socket.getPeerCertificate !== 'function') return null;
  const known = verified.get(socket);
  if (known !== undefined) return known;
  // `authorized`: the chain verified against clientCa (with `optional`, a bad certificate still connects).
  const fingerprint = socket.authorized ? socket.getPeerCertificate().fingerprint256 || null : null;
  verified.set(socket, fingerprint);
  return fingerprint;
}

/** The identity source: read live, so a reload that changes `clientCertificates` applies to open connections. */
export function clientCertificateSource(live: {
  readonly current: { readonly clientCertificates: ClientCertificates };
}): (req: FastifyRequest) => Principal | null {
  return (req) => {
    const certs = live.current.clientCertificates;
    if (certs.size === 0) return null;
    const socket = req.raw.socket as Partial<TLSSocket> | undefined;
    const fingerprint = peerFingerprint(socket);
    if (!fingerprint) return null;
    const p = certs.lookup(fingerprint);
    if (p) return p;
    if (!told.has(socket!)) {
      told.add(socket!);
      req.log.info({ event: 'auth.client_certificate_unlisted', fingerprint }, 'client certificate not listed');
    }
    return null;
  };
}
