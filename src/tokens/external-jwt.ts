/**
 * Bearer JWTs minted by a configured external issuer (`externalTokens.jwt` in the configuration):
 * signature by the issuer's JWKS (jose, fetched again on an unknown `kid`), exact issuer,
 * one of our audiences, an asymmetric algorithm, exp/nbf with a small clock tolerance.
 * Verified tokens are cached by sha256 until they expire, so the hot path skips the
 * signature. Any refusal is `INVALID_TOKEN`; the cause is on `err.reason` for the log only.
 * An issuer that cannot be reached (discovery, JWKS) is `IDP_UNAVAILABLE` (502), not 401:
 * the client's token may be fine.
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from '../config/load.js';
import { Errors, idpUnavailable, invalidToken } from '../errors.js';
import { errorCause } from '../lib/error-cause.js';
import { claimText, makePrincipal, type Principal } from '../identity/principal.js';
import { FailureBackoff } from '../lib/backoff.js';
import { sha256Hex } from '../lib/crypto.js';
import { isLoopbackHost } from '../lib/net.js';
import { BoundedMap } from '../store/memory.js';

type IssuerConfig = NonNullable<Config['externalTokens']>['jwt'][number];

export interface ExternalJwtOptions {
  fetch?: typeof fetch;
  /** Leeway for exp/nbf, in seconds (default 30). */
  clockToleranceS?: number;
  /** Minimum time between two JWKS fetches caused by unknown `kid`s (jose's default: 30 s). */
  jwksCooldownMs?: number;
  /** Verified tokens kept (default 10 000). */
  cacheSize?: number;
  /**
   * How long a failed discovery or JWKS fetch is remembered at first,
   * doubling while it keeps failing (default 2 s, at most 60 s).
   */
  failureBackoffMs?: number;
}

/** Asymmetric only: never `none`, never HS* (a public key must not become an HMAC secret). */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

type GetKey = JWTVerifyGetKey;

/** The `iss` of a JWT without verifying anything (to pick a verifier), or undefined. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** Plain http only to a loopback host (tests, local IdPs), as for the upstream OIDC client. */
function checkUrl(url: string, what: string): URL {
  const u = new URL(url);
  if (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname))) return u;
  throw new Error(`externalTokens.jwt: ${what} ${url} must be https (plain http only for loopback hosts)`);
}

class Issuer {
  private keys?: Promise<GetKey>;
  private readonly backoff: FailureBackoff;
  constructor(
    readonly cfg: IssuerConfig,
    private readonly opts: ExternalJwtOptions,
  ) {
    if (cfg.jwksUri) checkUrl(cfg.jwksUri, 'jwksUri');
    else checkUrl(cfg.issuer, 'issuer (for discovery; or set jwksUri)');
    this.backoff = new FailureBackoff(opts.failureBackoffMs);
  }

  /**
   * The key for a token; while the issuer's discovery or JWKS
   * is failing, its failure is answered from memory (backoff).
   */
  getKey: GetKey = (header, input) =>
    this.backoff.run(
      async () => this.fetchKey(header, input),
      (e) => e instanceof Errors.IDP_UNAVAILABLE,
    );

  /** jose's remote key set, created once; the discovery behind it is retried after a failure. */
  private fetchKey: GetKey = async (header, input) => {
    this.keys ??= this.remoteSet().catch((e: Error) => {
      this.keys = undefined; // retried at the next token
      throw e instanceof Errors.IDP_UNAVAILABLE ? e : idpUnavailable(`discovery: ${errorCause(e)}`);
    });
    const set = await this.keys;
    try {
      return await set(header, input);
    } catch (e) {
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) throw e;
      throw idpUnavailable(`jwks: ${errorCause(e)}`);
    }
  };

  private async remoteSet(): Promise<GetKey> {
    const uri = this.cfg.jwksUri ?? (await this.discover());
    return createRemoteJWKSet(checkUrl(uri, 'jwks_uri'), {
      ...(this.opts.jwksCooldownMs !== undefined ? { cooldownDuration: this.opts.jwksCooldownMs } : {}),
      ...(this.opts.fetch ? { [customFetch]: this.opts.fetch } : {}),
    });
  }

  /** OpenID discovery, then RFC 8414 (path inserted after the well-known prefix). */
  private async discover(): Promise<string> {
    const issuer = this.cfg.issuer.replace(/\/+$/, '');
    const u = new URL(issuer);
    const candidates = [
      `${issuer}/.well-known/openid-configuration`,
      `${u.origin}/.well-known/oauth-authorization-server${u.pathname === '/' ? '' : u.pathname}`,
    ];
    const doFetch = this.opts.fetch ?? fetch;
    for (const url of candidates) {
      let res: Response;
      try {
        res = await doFetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
      } catch (e) {
        throw idpUnavailable(`discovery: ${errorCause(e)}`);
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        continue;
      }
      const doc = (await res.json().catch(() => ({}))) as { issuer?: unknown; jwks_uri?: unknown };
      // RFC 8414 §3.3 / OIDC Discovery §4.3: the document must name the issuer we asked for.
      if (doc.issuer !== this.cfg.issuer) throw idpUnavailable(`discovery: issuer mismatch (${String(doc.issuer)})`);
      if (typeof doc.jwks_uri !== 'string') throw idpUnavailable('discovery: no jwks_uri');
      return doc.jwks_uri;
    }
    throw idpUnavailable('discovery: no metadata document found');
  }
}

export class ExternalJwtVerifier {
  private readonly issuers = new Map<string, Issuer>();
  private readonly cache: BoundedMap<string, Principal>;
  private readonly tolerance: number;

  constructor(issuers: NonNullable<Config['externalTokens']>['jwt'], opts: ExternalJwtOptions = {}) {
    for (const cfg of issuers) {
      if (this.issuers.has(cfg.issuer)) throw new Error(`externalTokens.jwt: issuer ${cfg.issuer} is listed twice`);
      this.issuers.set(cfg.issuer, new Issuer(cfg, opts));
    }
    this.tolerance = opts.clockToleranceS ?? 30;
    this.cache = new BoundedMap(opts.cacheSize ?? 10_000);
  }

  /** Whether `iss` is one of the configured issuers (exact match). */
  handles(iss: string): boolean {
    return this.issuers.has(iss);
  }

  async verify(token: string): Promise<Principal> {
    const key = sha256Hex(token);
    const hit = this.cache.get(key);
    if (hit) {
      if (hit.expiresAt! > Date.now()) return hit;
      this.cache.delete(key);
    }
    const iss = unverifiedIssuer(token);
    const issuer = iss !== undefined ? this.issuers.get(iss) : undefined;
    if (!issuer) throw invalidToken('unknown_issuer');
    // No audience configured: refuse. Without an audience check a token this issuer minted
    // for any other application would open our backends — a token for anyone is not a token for us.
    if (issuer.cfg.audience.length === 0) throw invalidToken('no_audience_configured');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.getKey, {
        issuer: issuer.cfg.issuer,
        audience: issuer.cfg.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: this.tolerance,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (e) {
      if (e instanceof Errors.IDP_UNAVAILABLE) throw e;
      const { code, claim } = e as { code?: string; claim?: string };
      throw invalidToken(`${code ?? 'verification_failed'}${claim ? `:${claim}` : ''}`);
    }
    if (typeof payload.sub !== 'string' || !payload.sub) throw invalidToken('no_sub');
    const principal = toPrincipal(
      payload,
      issuer.cfg.groupsClaim,
      issuer.cfg.sameUsers ? undefined : issuer.cfg.issuer,
    );
    if (principal.expiresAt! > Date.now()) this.cache.set(key, principal);
    return principal;
  }
}

/** `scope` (space list, RFC 8693/9068) or `scp` (array at Okta, space list at Entra ID). */
function toPrincipal(p: JWTPayload, groupsClaim: string, issuer: string | undefined): Principal {
  return makePrincipal({
    sub: p.sub!,
    email: claimText(p.email),
    name: claimText(p.name) ?? claimText(p.preferred_username),
    groups: p[groupsClaim],
    scopes: p.scope ?? p.scp,
    source: 'external',
    issuer: issuer || undefined,
    expiresAt: p.exp! * 1000,
  });
}
