/**
 * Access tokens this proxy's authorization server issued: ES256 JWTs checked locally with
 * jose (no store round trip), `aud` = the MCP URL the client calls, cached by token hash
 * until `exp`, and refused as soon as their grant is gone (authz-server/live-grants.ts). A machine
 * client's client_credentials token has no grant: it is valid while that client is configured. A
 * DPoP-bound token (`cnf.jkt`) is checked against its presentation by `bind` (tokens/dpop.ts).
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { LiveGrants } from '../authz-server/live-grants.js';
import { invalidToken } from '../errors.js';
import { sha256Hex } from '../lib/crypto.js';
import { makePrincipal, type Principal } from '../identity/principal.js';
import type { SigningKey } from '../propagation/keys.js';
import { BoundedMap } from '../store/memory.js';

export class ProxyTokenVerifier {
  private readonly jwks: ReturnType<typeof createLocalJWKSet>;
  /** Verified tokens by digest: the claims and the principal built from them (reused, frozen). */
  private readonly cache = new BoundedMap<string, { payload: JWTPayload; principal: Principal }>(50_000);

  constructor(
    keys: SigningKey[],
    readonly issuer: string,
    private readonly grants: LiveGrants,
    /** The configured machine clients (authorizationServer.clients) by clientId. */
    private readonly machineClients: ReadonlySet<string> = new Set(),
  ) {
    this.jwks = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
  }

  handles(iss: string | undefined): boolean {
    return iss === this.issuer;
  }

  /** True when this token (by `sha256Hex`) was verified before: it is ours, no need to decode it to tell. */
  isCached(digest: string): boolean {
    return this.cache.peek(digest) !== undefined;
  }

  /**
   * `audiences`: the resources this request may be called with (one for `/mcp/<b>`, all ours for `/api`);
   * `bind`: refuses a presentation the token's key binding (`cnf.jkt`, undefined when unbound) does not allow.
   */
  async verify(
    token: string,
    audiences: readonly string[],
    digest = sha256Hex(token),
    bind?: (jkt: string | undefined) => Promise<void>,
  ): Promise<Principal> {
    let hit = this.cache.get(digest);
    if (!hit || (hit.payload.exp ?? 0) * 1000 <= Date.now()) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, this.jwks, {
          issuer: this.issuer,
          algorithms: ['ES256'],
          typ: 'at+jwt',
        }));
      } catch (e) {
        throw invalidToken((e as { code?: string }).code ?? 'verification failed');
      }
      hit = { payload, principal: toPrincipal(payload) };
      this.cache.set(digest, hit);
    }
    const { payload, principal } = hit;
    const aud = [payload.aud ?? []].flat();
    if (!aud.some((a) => audiences.includes(a))) throw invalidToken('token audience is another resource');
    const gid = typeof payload.gid === 'string' ? payload.gid : undefined;
    const machine =
      gid === undefined && principal.clientId !== undefined && this.machineClients.has(principal.clientId);
    if (!machine && !(await this.grants.live(gid))) throw invalidToken('grant revoked');
    const cnf = payload.cnf as { jkt?: unknown } | undefined;
    const jkt = typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
    if (bind) await bind(jkt);
    else if (jkt) throw invalidToken('a DPoP-bound token needs its proof');
    return principal;
  }
}

function toPrincipal(payload: JWTPayload): Principal {
  // A user of an enterprise IdP that is not the login's (an ID-JAG, authz-server/jwt-bearer-grant.ts):
  // `sub` is `<idp>#<sub>`; the principal is that IdP's `sub`, keyed `<idp>#<sub>` like external tokens.
  const idp = typeof payload.idp === 'string' ? payload.idp : undefined;
  let sub = String(payload.sub);
  if (idp !== undefined) {
    if (!sub.startsWith(`${idp}#`)) throw invalidToken('sub is not of its idp');
    sub = sub.slice(idp.length + 1);
  }
  return makePrincipal({
    sub,
    issuer: idp,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    name: typeof payload.name === 'string' ? payload.name : undefined,
    groups: payload.groups,
    tenant: typeof payload.tenant === 'string' ? payload.tenant : undefined,
    scopes: typeof payload.scope === 'string' ? payload.scope : undefined,
    source: 'bearer',
    clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined,
    grantId: typeof payload.gid === 'string' ? payload.gid : undefined,
    expiresAt: (payload.exp ?? 0) * 1000,
  });
}
