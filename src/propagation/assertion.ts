/**
 * The signed identity assertion (`X-MCP-Proxy-Assertion`): a short JWT a backend can verify
 * with /.well-known/jwks.json. Signing costs ~0.1 ms, so one assertion is reused per
 * principal and backend while it has more than half its life left.
 */
import { SignJWT } from 'jose';
import { randomId } from '../lib/crypto.js';
import { BoundedMap } from '../store/memory.js';
import { identityClaims, principalKey, type Principal } from '../identity/principal.js';
import type { SigningKey } from './keys.js';

export const ASSERTION_TTL_S = 60;

interface Signed {
  jwt: string;
  reuseUntil: number;
}

export class AssertionSigner {
  private readonly cache = new BoundedMap<string, Signed>(10_000);
  /** Fast path for principals reused across requests (verified-token cache, API keys): no key to build. */
  private readonly byPrincipal = new WeakMap<Principal, Map<string | string[], Signed>>();

  constructor(
    private readonly key: SigningKey,
    private readonly issuer: string,
  ) {}

  async sign(p: Principal, audience: string | string[]): Promise<string> {
    const now = Date.now();
    let mine = this.byPrincipal.get(p);
    const fast = mine?.get(audience);
    if (fast && fast.reuseUntil > now) return fast.jwt;
    if (!mine) this.byPrincipal.set(p, (mine = new Map()));
    const claims = identityClaims(p);
    const cacheKey = JSON.stringify([audience, claims, principalKey(p), p.source, p.scopes, p.clientId]);
    const hit = this.cache.get(cacheKey);
    if (hit && hit.reuseUntil > now) {
      mine.set(audience, hit);
      return hit.jwt;
    }
    const iat = Math.floor(now / 1000);
    const jwt = await new SignJWT({
      email: claims.email,
      name: claims.name,
      groups: claims.groups,
      tenant: claims.tenant,
      scope: p.scopes.join(' ') || undefined,
      src: p.source,
      src_iss: p.issuer,
      client_id: p.clientId,
    })
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.kid, typ: 'mcp-proxy-assertion+jwt' })
      .setIssuer(this.issuer)
      .setSubject(claims.sub)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_TTL_S)
      .setJti(randomId(12))
      .sign(this.key.privateKey);
    const signed = { jwt, reuseUntil: now + (ASSERTION_TTL_S * 1000) / 2 };
    this.cache.set(cacheKey, signed);
    mine.set(audience, signed);
    return jwt;
  }
}
