/**
 * DPoP (RFC 9449) at the resource (`/mcp`, `/api`): a bound token's proof checked against the request
 * (`htm`, `htu`, `iat`, `ath`, the token's `cnf.jkt`), replays refused through the shared store, optional
 * server nonces, and the `DPoP` challenges (§7.1) that say so. Tokens come from our authorization server.
 */
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { Errors, withReason } from '../errors.js';
import { safeEqual } from '../lib/crypto.js';
import type { Store } from '../store/index.js';

export type DpopMode = 'allowed' | 'required' | 'off';
/** Proof algorithms accepted by the authorization server and the resource alike (asymmetric only). */
export const DPOP_ALGS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];
/** How far a proof's `iat` may be from now (seconds): the authorization server's window too. */
export const DPOP_IAT_WINDOW_S = 300;
/** A nonce is good for the step it was made in and the next one. */
const NONCE_STEP_S = 60;
/** The internal REST → /mcp request (web/mcp-client.ts) says the proof was checked at `/api` with this MAC. */
export const DPOP_RELAY_HEADER = 'x-mcp-proxy-dpop-relay';
const RELAY_KEY = randomBytes(32);

/** The MAC the internal request carries for `token` (this process only; the header never leaves it). */
export function dpopRelayMark(token: string): string {
  return createHmac('sha256', RELAY_KEY).update(token).digest('base64url');
}

/** How a token was presented: the Authorization scheme, the DPoP proof, and the request it must match. */
export interface Presentation {
  scheme: 'bearer' | 'dpop';
  proof?: string;
  method: string;
  /** The request's path and query as received (`req.url`). */
  url: string;
  /** The relay MAC header, when the request came from the proxy's own REST client. */
  relay?: string;
}

/** The scheme and token of an `Authorization` header (`Bearer` or `DPoP`), and the proof with it. */
export function presentation(req: FastifyRequest): (Presentation & { token: string }) | undefined {
  const m = req.headers.authorization?.match(/^(Bearer|DPoP)\s+(\S+)\s*$/i);
  if (!m) return undefined;
  const proof = req.headers.dpop;
  const relay = req.headers[DPOP_RELAY_HEADER];
  return {
    token: m[2]!,
    scheme: m[1]!.toLowerCase() === 'dpop' ? 'dpop' : 'bearer',
    proof: typeof proof === 'string' ? proof : undefined,
    method: req.method,
    url: req.url,
    relay: typeof relay === 'string' ? relay : undefined,
  };
}

type ChallengeError = 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce';

/** A refusal that is answered with a `DPoP` challenge (and a fresh nonce when one is asked for). */
export interface DpopRefusal extends Error {
  dpop: { error: ChallengeError; nonce?: string };
  reason: string;
  headers?: Record<string, string>;
}

function refusal(error: ChallengeError, reason: string, nonce?: string): DpopRefusal {
  const e =
    error === 'invalid_dpop_proof'
      ? new Errors.INVALID_DPOP_PROOF()
      : error === 'use_dpop_nonce'
        ? new Errors.USE_DPOP_NONCE()
        : new Errors.INVALID_TOKEN();
  return Object.assign(withReason(e, reason), { dpop: { error, nonce } });
}

export function isDpopRefusal(e: unknown): e is DpopRefusal {
  return typeof (e as DpopRefusal | undefined)?.dpop?.error === 'string';
}

export interface DpopVerifierOptions {
  mode: DpopMode;
  publicUrl: string;
  /** Where used proof ids are claimed: shared by replicas when the store is. */
  store: Store;
  /** Proofs must carry a nonce of ours; derived from this secret (the session key: the same on every replica). */
  nonceSecret?: string;
}

export class DpopVerifier {
  private readonly nonceKey?: Buffer;
  private readonly algs: string;

  constructor(private readonly o: DpopVerifierOptions) {
    if (o.nonceSecret)
      this.nonceKey = Buffer.from(
        hkdfSync('sha256', Buffer.from(o.nonceSecret, 'base64'), Buffer.alloc(0), 'mcp-oidc-proxy/dpop-nonce', 32),
      );
    this.algs = DPOP_ALGS.join(' ');
  }

  get mode(): DpopMode {
    return this.o.mode;
  }

  /**
   * Refuses what the token's binding (`cnf.jkt`, undefined when unbound) forbids for this presentation:
   * a bound token as Bearer, an unbound one where DPoP is required or under the DPoP scheme, a bad proof.
   */
  async bind(p: Presentation, token: string, jkt: string | undefined): Promise<void> {
    if (p.scheme === 'bearer') {
      if (jkt) throw refusal('invalid_token', 'a DPoP-bound token was presented as a bearer token');
      if (this.o.mode === 'required') throw refusal('invalid_token', 'this server accepts DPoP-bound tokens only');
      return;
    }
    if (!jkt) throw refusal('invalid_token', 'the token is not DPoP-bound: present it with the Bearer scheme');
    if (p.relay !== undefined && safeEqual(p.relay, dpopRelayMark(token))) return;
    await this.checkProof(p, token, jkt);
  }

  private async checkProof(p: Presentation, token: string, jkt: string): Promise<void> {
    if (!p.proof || p.proof.includes(',')) throw refusal('invalid_dpop_proof', 'exactly one DPoP proof is required');
    let payload: Record<string, unknown>;
    let jwk: JWK;
    try {
      const r = await jwtVerify(p.proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGS });
      payload = r.payload;
      jwk = r.protectedHeader.jwk!;
    } catch (e) {
      throw refusal('invalid_dpop_proof', `proof signature: ${(e as { code?: string }).code ?? 'invalid'}`);
    }
    const bad = (reason: string) => refusal('invalid_dpop_proof', reason);
    if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > 200) throw bad('jti missing');
    if (payload.htm !== p.method) throw bad('htm is not the request method');
    if (!this.htuMatches(payload.htu, p.url)) throw bad('htu is not the request URL');
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > DPOP_IAT_WINDOW_S)
      throw bad('iat is not recent');
    const ath = createHash('sha256').update(token).digest('base64url');
    if (typeof payload.ath !== 'string' || !safeEqual(payload.ath, ath)) throw bad('ath is not the hash of the token');
    if (!safeEqual(await calculateJwkThumbprint(jwk), jkt))
      throw refusal('invalid_token', "the proof's key is not the one the token is bound to");
    if (this.nonceKey && !this.nonceValid(payload.nonce))
      throw refusal('use_dpop_nonce', 'a current DPoP nonce is required', this.nonce());
    // Last: a proof refused above has not been used up.
    if (!(await this.o.store.claim(`dpop:jti:${jkt}:${payload.jti}`, 2 * DPOP_IAT_WINDOW_S * 1000)))
      throw bad('the proof was used before');
  }

  /** `htu` is the public URL of this request, without query and fragment (§4.3). */
  private htuMatches(htu: unknown, url: string): boolean {
    if (typeof htu !== 'string') return false;
    const actual = URL.parse(htu);
    const expected = URL.parse(`${this.o.publicUrl}${url.split('?')[0]}`);
    if (!actual || !expected) return false;
    actual.search = actual.hash = '';
    return actual.href === expected.href;
  }

  /** The nonce clients should use now, when nonces are on. */
  nonce(step = Math.floor(Date.now() / 1000 / NONCE_STEP_S)): string | undefined {
    return this.nonceKey && createHmac('sha256', this.nonceKey).update(String(step)).digest('base64url');
  }

  private nonceValid(nonce: unknown): boolean {
    if (typeof nonce !== 'string') return false;
    const step = Math.floor(Date.now() / 1000 / NONCE_STEP_S);
    return safeEqual(nonce, this.nonce(step)!) || safeEqual(nonce, this.nonce(step - 1)!);
  }

  /** The `DPoP` challenge (RFC 9449 §7.1) for `params` (`resource_metadata`, `error`, …). */
  challenge(params: string): string {
    return `DPoP algs="${this.algs}"${params ? `, ${params}` : ''}`;
  }

  /**
   * Every `Bearer` challenge the proxy sends (no credential, step-up) also names DPoP: alone where it is
   * required or the request used it, else after the Bearer one (MCP clients read the first). With nonces
   * on, a DPoP request's answer carries the next nonce.
   */
  onSend = async (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const h = reply.getHeader('www-authenticate');
    const usedDpop = /^DPoP\s/i.test(req.headers.authorization ?? '');
    if (typeof h === 'string' && h.startsWith('Bearer ')) {
      const params = h.slice('Bearer '.length);
      if (this.o.mode === 'required' || usedDpop) reply.header('www-authenticate', this.challenge(params));
      else if (!/\berror=/.test(params)) reply.header('www-authenticate', `${h}, ${this.challenge('')}`);
    }
    if (this.nonceKey && usedDpop && !reply.hasHeader('dpop-nonce')) reply.header('dpop-nonce', this.nonce());
    return payload;
  };
}
