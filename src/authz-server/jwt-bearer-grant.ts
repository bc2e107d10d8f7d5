/**
 * The jwt-bearer grant (RFC 7523) with an ID-JAG as its `assertion`: Enterprise-Managed Authorization
 * (DESIGN.md §11). A configured, authenticated client presents an ID-JAG its enterprise IdP issued to
 * it; the answer is the proxy's ordinary JWT access token for the asserted user, for the ID-JAG's
 * `resource`, with a grant of its own that lives as long as the token (no refresh token: a new token
 * takes a new ID-JAG). The `jti` is claimed once in the store until the ID-JAG expires. A DPoP proof
 * binds the token to the client's key, through oidc-provider's own DPoP steps (as its built-in grants do).
 */
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { applyDpopBinding } from 'oidc-provider/lib/helpers/grant_common.js';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';
import { tenantFor, type TenantConfig } from '../identity/tenant.js';
import { readGroups } from '../identity/principal.js';
import { safeEqual, sha256Hex } from '../lib/crypto.js';
import type { Store } from '../store/index.js';
import { storeUnavailable } from './adapter.js';
import { grantRefused, type IdJagVerifier, type VerifiedIdJag } from './id-jag.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The user an ID-JAG asserts, as the token's claims are filled in (provider.ts `extraTokenClaims`). */
export interface AssertedUser {
  email?: string;
  name?: string;
  groups: string[];
  tenant?: string;
  /** The enterprise IdP, when its users are not the login's: the token's `sub` is then `<idp>#<sub>`. */
  idp?: string;
}

export interface IdJagGrantDeps {
  verifier: IdJagVerifier;
  store: Store;
  /** This proxy's MCP endpoints and the scopes each offers. */
  resources: () => ReadonlyMap<string, string[]>;
  /** oidc-provider's resource server info for an MCP endpoint (the same as for the code flow). */
  resourceServerInfo: (resource: string) => ConstructorParameters<Provider['ResourceServer']>[1];
  /** The scopes a configured client may be given; undefined for any other client (DCR, CIMD). */
  clientScopes: (clientId: string) => readonly string[] | undefined;
  /** The scope an ID-JAG without a `scope` claim grants (`mcp`). */
  baseScope: string;
  /** `oidc.issuer`: an enterprise IdP with this issuer vouches for the login's own users. */
  loginIssuer?: string;
  tenants?: () => TenantConfig | undefined;
}

/** Whose token the request being answered issues: read by `extraTokenClaims` for the same request only. */
const asserted = new WeakMap<object, AssertedUser>();

export function assertedUser(ctx: unknown): AssertedUser | undefined {
  return ctx && typeof ctx === 'object' ? asserted.get(ctx) : undefined;
}

export function registerIdJagGrant(provider: Provider, d: IdJagGrantDeps): void {
  provider.registerGrantType(JWT_BEARER, (ctx: KoaContextWithOIDC) => idJagGrant(ctx, d), [
    'assertion',
    'scope',
    'resource',
  ]);
}

const refused = grantRefused;
const epochSeconds = () => Math.floor(Date.now() / 1000);
const words = (v: unknown) => (typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

async function idJagGrant(ctx: KoaContextWithOIDC, d: IdJagGrantDeps): Promise<void> {
  const { provider } = ctx.oidc;
  const client = ctx.oidc.client!;
  const params = ctx.oidc.params as Record<string, unknown>;
  const allowed = d.clientScopes(client.clientId);
  // Deny by default: the IdP stamps a fixed client_id into the ID-JAG, so only clients the operator configured.
  if (!allowed || client.clientAuthMethod === 'none')
    throw new errors.UnauthorizedClient('only the clients of authorizationServer.clients may present an ID-JAG');
  if (typeof params.assertion !== 'string' || !params.assertion)
    throw new errors.InvalidRequest('missing required parameter: assertion (the ID-JAG)');
  const dPoP = await validateDpop(provider, ctx);
  const { idp, payload } = await d.verifier.verify(params.assertion);
  if (!safeEqual(payload.client_id, client.clientId))
    throw refused(`it was issued to client "${payload.client_id.slice(0, 100)}", not to the client presenting it`);
  const resource = resourceOf(payload);
  if (params.resource !== undefined && params.resource !== resource)
    throw new errors.InvalidTarget("the resource parameter must be the ID-JAG's resource (or be left out)");
  const offered = d.resources().get(resource);
  if (!offered) throw refused(`its resource ${resource.slice(0, 200)} is not an MCP endpoint of this proxy`);
  const scope = grantedScopes(words(params.scope), payload.scope, allowed, offered, d.baseScope);
  if (!scope.length)
    throw new errors.InvalidScope('no scope is left: the request, the ID-JAG and the client share none', '');
  // Last, so a request refused above does not burn the assertion; the claim outlives the ID-JAG by the leeway.
  const ttlMs = payload.exp * 1000 - Date.now() + 60_000;
  if (!(await claimOnce(d.store, `as:id-jag:jti:${sha256Hex(`${idp.issuer}\0${payload.jti}`)}`, ttlMs)))
    throw refused('it was already used (its jti was seen before)');
  const sameUsers = idp.sameUsers ?? idp.issuer === d.loginIssuer;
  const accountId = sameUsers ? payload.sub : `${idp.issuer}#${payload.sub}`;
  const user = assertedOf(payload, idp, sameUsers, d);
  await issue(ctx, provider, d, { accountId, resource, scope, user, dPoP, notAfter: payload.exp });
}

/** The ID-JAG's `resource`: one URL (a one-element list is accepted). */
function resourceOf(payload: VerifiedIdJag['payload']): string {
  const r = Array.isArray(payload.resource) && payload.resource.length === 1 ? payload.resource[0] : payload.resource;
  if (typeof r !== 'string' || !r) throw refused('it names no resource (the MCP endpoint it is for)');
  return r;
}

/** requested ∩ the ID-JAG's ∩ the client's ∩ the resource's; the ID-JAG's when none are requested. */
export function grantedScopes(
  requested: readonly string[],
  jagScope: unknown,
  client: readonly string[],
  offered: readonly string[],
  baseScope: string,
): string[] {
  const jag = typeof jagScope === 'string' ? words(jagScope) : [baseScope];
  const wanted = requested.length ? requested : jag;
  return [...new Set(wanted)].filter((s) => jag.includes(s) && client.includes(s) && offered.includes(s));
}

function assertedOf(
  payload: VerifiedIdJag['payload'],
  idp: VerifiedIdJag['idp'],
  sameUsers: boolean,
  d: IdJagGrantDeps,
): AssertedUser {
  const email = typeof payload.email === 'string' && payload.email ? payload.email : undefined;
  const text: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) if (typeof v === 'string') text[k] = v;
  return {
    email,
    name: typeof payload.name === 'string' && payload.name ? payload.name : undefined,
    groups: readGroups(payload[idp.groupsClaim]),
    tenant: tenantFor(d.tenants?.(), email, text),
    idp: sameUsers ? undefined : idp.issuer,
  };
}

/** Set-if-absent in the store (shared by replicas); a store that cannot be reached is 503, as for the adapter. */
const claimOnce = (store: Store, key: string, ttlMs: number): Promise<boolean> =>
  store.claim(key, Math.max(1000, ttlMs)).catch(storeUnavailable);

/** A grant for this one token (revocable like any other: logout everywhere, admin), then the JWT access token. */
async function issue(
  ctx: KoaContextWithOIDC,
  provider: Provider,
  d: IdJagGrantDeps,
  t: {
    accountId: string;
    resource: string;
    scope: string[];
    user: AssertedUser;
    dPoP?: { thumbprint: string };
    /** The ID-JAG's exp (s): the token never outlives the assertion it was traded for. */
    notAfter: number;
  },
): Promise<void> {
  const client = ctx.oidc.client!;
  const info = d.resourceServerInfo(t.resource);
  // The token never outlives the ID-JAG it was traded for (nor the configured lifetime).
  const expiresIn = Math.max(1, Math.min(info.accessTokenTTL ?? Number.POSITIVE_INFINITY, t.notAfter - epochSeconds()));
  const scope = t.scope.join(' ');
  // expiresIn (BaseToken's, not in the typings): the grant lives as long as its one token.
  const grant = new provider.Grant({
    accountId: t.accountId,
    clientId: client.clientId,
    expiresIn,
  } as ConstructorParameters<Provider['Grant']>[0]);
  grant.addResourceScope(t.resource, scope);
  const grantId = await grant.save();
  const at = new provider.AccessToken({
    accountId: t.accountId,
    client,
    grantId,
    gty: 'id_jag',
    scope,
    expiresIn,
  } as ConstructorParameters<Provider['AccessToken']>[0]);
  at.resourceServer = new provider.ResourceServer(t.resource, info);
  await applyDpopBinding(provider, ctx, t.dPoP, at);
  asserted.set(ctx, t.user);
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();
  ctx.body = { access_token: accessToken, token_type: at.tokenType, expires_in: at.expiration, scope };
}
