/**
 * Opaque (or any) bearer tokens checked at the issuer's RFC 7662 introspection endpoint
 * (`externalTokens.introspection` in the configuration), authenticating with client_secret_basic.
 * Answers are cached by sha256 of the token: an active one for at most 60 s and never
 * beyond the token's `exp` (so a revocation reaches us within that time), an inactive one
 * for a few seconds (so a client retrying a dead token does not hammer the IdP).
 * `active: false`, or an active token whose `aud` names none of our audiences (or whose `iss` is
 * not the configured issuer), is INVALID_TOKEN (401); an endpoint that cannot answer is IDP_UNAVAILABLE (502).
 */
import type { Config } from '../config/load.js';
import { Errors, idpUnavailable, invalidToken } from '../errors.js';
import { claimText as str, makePrincipal, type Principal } from '../identity/principal.js';
import { FailureBackoff } from '../lib/backoff.js';
import { errorCause } from '../lib/error-cause.js';
import { sha256Hex } from '../lib/crypto.js';
import { BoundedMap } from '../store/memory.js';

type IntrospectionConfig = NonNullable<NonNullable<Config['externalTokens']>['introspection']>;

export interface IntrospectionOptions {
  fetch?: typeof fetch;
  /** Upper bound for caching an active answer (default 60 s). */
  activeTtlMs?: number;
  /** How long an inactive answer is remembered (default 5 s). */
  inactiveTtlMs?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  cacheSize?: number;
  /**
   * How long an endpoint failure is remembered at first, doubling while it keeps failing (default 2 s, at most 60 s).
   */
  failureBackoffMs?: number;
  /**
   * The audiences accepted when the config names none (this proxy's
   * resources, read per answer: a reload may add backends).
   */
  defaultAudience?: () => Iterable<string>;
}

/** RFC 6749 §2.3.1: client_secret_basic form-encodes id and secret before base64. */
function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * This proxy's own resources, the default audiences: `<publicUrl>`, `<publicUrl>/mcp` and
 * `<publicUrl>/mcp/<backend>` for every backend (`resources`, kept current by reloads).
 */
export function proxyAudiences(publicUrl: string, resources: ReadonlyMap<string, unknown>): string[] {
  return [publicUrl, `${publicUrl}/mcp`, ...resources.keys()];
}

type Cached = { principal: Principal; until: number } | { principal: undefined; until: number };

export class IntrospectionVerifier {
  private readonly cache: BoundedMap<string, Cached>;
  private readonly doFetch: typeof fetch;
  private readonly auth: string;
  private readonly backoff: FailureBackoff;

  constructor(
    private readonly cfg: IntrospectionConfig,
    private readonly opts: IntrospectionOptions = {},
  ) {
    this.cache = new BoundedMap(opts.cacheSize ?? 10_000);
    this.doFetch = opts.fetch ?? fetch;
    this.auth = basic(cfg.clientId, cfg.clientSecret);
    this.backoff = new FailureBackoff(opts.failureBackoffMs);
  }

  async verify(token: string): Promise<Principal> {
    if (!token) throw invalidToken('empty');
    const key = sha256Hex(token);
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) {
      if (!hit.principal) throw invalidToken('inactive(cached)');
      return hit.principal;
    }
    if (hit) this.cache.delete(key);

    // An endpoint that cannot answer is not asked again by every request meanwhile.
    const body = await this.backoff.run(
      () => this.introspect(token),
      (e) => e instanceof Errors.IDP_UNAVAILABLE,
    );
    const refused = body.active === true ? this.notForUs(body) : 'inactive';
    const principal = refused ? undefined : toPrincipal(body, now, new URL(this.cfg.endpoint).origin);
    if (!principal) {
      this.cache.set(key, { principal: undefined, until: now + (this.opts.inactiveTtlMs ?? 5_000) });
      throw invalidToken(refused ?? 'unusable_active_response');
    }
    const maxTtl = this.opts.activeTtlMs ?? 60_000;
    const until = Math.min(now + maxTtl, principal.expiresAt ?? Infinity);
    if (until > now) this.cache.set(key, { principal, until });
    return principal;
  }

  /**
   * Why an active token is not one for this proxy, or undefined: its `aud` names none of our
   * audiences (a token the IdP minted for another API, or with no audience at all), or its
   * `iss` is not the configured issuer. Active only says the IdP knows the token.
   */
  private notForUs(b: Record<string, unknown>): string | undefined {
    if (this.cfg.issuer !== undefined && b.iss !== this.cfg.issuer) return 'issuer_mismatch';
    const accepted = new Set(this.cfg.audience ?? this.opts.defaultAudience?.() ?? []);
    const aud = typeof b.aud === 'string' ? [b.aud] : Array.isArray(b.aud) ? b.aud : [];
    return aud.some((a) => typeof a === 'string' && accepted.has(a)) ? undefined : 'audience_mismatch';
  }

  private async introspect(token: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await this.doFetch(this.cfg.endpoint, {
        method: 'POST',
        headers: {
          authorization: this.auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw idpUnavailable(`introspection: ${errorCause(e)}`);
    }
    if (res.status === 400) {
      // invalid_request is about the token we passed on (oidc-provider answers so for a JWT);
      // invalid_client means our own credentials are refused: not the caller's fault.
      const error = ((await res.json().catch(() => ({}))) as { error?: unknown }).error;
      if (error !== 'invalid_client') throw invalidToken(`introspection: HTTP 400 ${String(error)}`);
    }
    // Any other non-200: our client is refused or the IdP is failing: not the caller's fault.
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw idpUnavailable(`introspection: HTTP ${res.status}`);
    }
    try {
      const body = (await res.json()) as unknown;
      if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
    } catch {
      /* fall through */
    }
    throw idpUnavailable('introspection: response is not a JSON object');
  }
}

/** An active answer we can use, or undefined (treated as inactive). */
function toPrincipal(b: Record<string, unknown>, now: number, endpointOrigin: string): Principal | undefined {
  const sub = str(b.sub) ?? str(b.username);
  if (!sub) return undefined;
  if (typeof b.exp === 'number' && b.exp * 1000 <= now) return undefined;
  if (typeof b.nbf === 'number' && b.nbf * 1000 > now + 30_000) return undefined;
  // A sender-constrained token (DPoP, mTLS) or one of another type must not pass as a plain bearer.
  if (b.cnf !== undefined) return undefined;
  for (const type of [str(b.token_type), str(b.typ)]) {
    if (type && !['bearer', 'access_token'].includes(type.toLowerCase())) return undefined; // typ: Keycloak
  }
  return makePrincipal({
    sub,
    email: str(b.email),
    name: str(b.name) ?? str(b.username),
    groups: b.groups,
    scopes: b.scope ?? b.scp,
    source: 'external',
    issuer: str(b.iss) ?? endpointOrigin,
    expiresAt: typeof b.exp === 'number' ? b.exp * 1000 : undefined,
  });
}
