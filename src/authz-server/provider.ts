/**
 * The OAuth authorization server MCP clients talk to, built on oidc-provider (certified; no
 * hand-rolled OAuth). Issuer = publicUrl. PKCE S256 required, DCR open (or off), Client ID
 * Metadata Documents, `resource` required → ES256 JWT access tokens with `aud` = the MCP
 * URL, rotated refresh tokens, revocation, introspection, device flow. Logins happen through
 * the proxy's own browser session (interactions.ts). DPoP-bound tokens when the client sends a proof
 * (`authorizationServer.dpop`); authorization responses carry `iss` (RFC 9207, built in).
 */
import { hkdfSync } from 'node:crypto';
import Provider, { errors, type Configuration } from 'oidc-provider';
import type { Config } from '../config/load.js';
import type { SigningKey } from '../propagation/keys.js';
import type { Store } from '../store/index.js';
import { storeAdapter } from './adapter.js';
import { oauthErrorPageHtml } from '../web/error-page.js';
import { ruleScopes } from '../policy/engine.js';
import { deviceSources } from './device-pages.js';
import { AS_COOKIE_NAMES } from './browser-session.js';
import { tenantFor, type TenantConfig } from '../identity/tenant.js';
import { ID_JAG_PROFILE, IdJagVerifier } from './id-jag.js';
import { assertedUser, JWT_BEARER, registerIdJagGrant } from './jwt-bearer-grant.js';
import {
  assertionOnce,
  defaultClientScopes,
  MachineClients,
  machineClientMetadata,
  restrictClientCredentials,
} from './machine-clients.js';
export type { CimdTestOrigin } from './client-rules.js';
import { DPOP_ALGS } from '../tokens/dpop.js';
import { redirectPatterns } from '../lib/redirect-patterns.js';
import { defaultScopeParam, refreshPolicy } from './client-quirks.js';
import {
  allowLoopbackRedirects,
  cimdFetchAllowed,
  type CimdTestOrigin,
  clientUrlRules,
  providerFetch,
} from './client-rules.js';

export const MCP_SCOPE = 'mcp';
type As = NonNullable<Config['authorizationServer']>;

export interface AccountClaims {
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  /** What the tenant is computed from under the live config (see identity/tenant.ts). */
  tenantClaims?: Record<string, string>;
}

/**
 * Every URL an MCP client may name as `resource` (`/mcp/<name>`, and `/mcp` with a default
 * backend), each with the scopes it offers: `mcp` plus those its policy rules require.
 */
export function mcpResources(config: Config, defaultBackend?: string): Map<string, string[]> {
  const base = config.server.publicUrl;
  const scopes = (b: Config['backends'][number]) => [MCP_SCOPE, ...ruleScopes(b)];
  const out = new Map<string, string[]>(config.backends.map((b) => [`${base}/mcp/${b.name}`, scopes(b)]));
  // A virtual server offers what its members offer: their scopes together.
  for (const v of config.virtualServers ?? []) {
    const members = config.backends.filter((b) => v.backends.some((m) => m.name === b.name));
    out.set(`${base}/mcp/${v.name}`, [...new Set(members.flatMap(scopes))]);
  }
  const def = config.backends.find((b) => b.name === defaultBackend);
  if (def) out.set(`${base}/mcp`, scopes(def));
  return out;
}

const derive = (k: string, info: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(k, 'base64'), Buffer.alloc(0), info, 32));
const cookieKey = (config: Config) =>
  config.session.keys.map((k) => derive(k, 'mcp-oidc-proxy/as-cookies').toString('base64url'));

export function createAuthorizationServer(opts: {
  config: Config;
  as: As;
  key: SigningKey;
  store: Store;
  resources: () => ReadonlyMap<string, string[]>;
  defaultResource?: string;
  cimdTestOrigin?: CimdTestOrigin;
  tenants?: () => TenantConfig | undefined;
  /** fetch for the operator's own URLs (machine clients' and enterprise IdPs' JWKS): trusts `tls.ca`. */
  fetch?: typeof fetch;
}): Provider {
  const { config, as, key, store, resources } = opts;
  // The tenant is computed when a token is issued, from the live config: a reload reaches refreshed tokens.
  const accounts = async (sub: string) => {
    const c = await store.get<AccountClaims>(`as:account:${sub}`);
    return (
      c && {
        sub: c.sub,
        email: c.email,
        name: c.name,
        groups: c.groups,
        tenant: tenantFor(opts.tenants?.(), c.email, c.tenantClaims),
      }
    );
  };
  const secure = config.server.publicUrl.startsWith('https:');
  const machines = new MachineClients(as.clients);
  const enterprise = as.enterpriseIdps.length > 0;
  /** An MCP endpoint as oidc-provider's resource server: ES256 JWT access tokens with `aud` = the endpoint. */
  const resourceServerInfo = (resource: string) => {
    const scopes = resources().get(resource);
    if (!scopes) throw new errors.InvalidTarget(`unknown resource ${resource}: use one of this proxy's MCP endpoints`);
    return {
      audience: resource,
      scope: scopes.join(' '),
      accessTokenFormat: 'jwt' as const,
      accessTokenTTL: Math.round(as.accessTokenTtl / 1000),
      jwt: { sign: { alg: 'ES256' as const } },
    };
  };
  const configuration: Configuration = {
    adapter: storeAdapter(store),
    // Configured clients may also present ID-JAGs when enterprise IdPs are configured (jwt-bearer-grant.ts).
    clients: machineClientMetadata(as.clients).map((c) =>
      enterprise ? { ...c, grant_types: [...(c.grant_types ?? []), JWT_BEARER] } : c,
    ),
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    assertJwtClientAuthClaimsAndHeader: assertionOnce(store),
    formats: { customizers: { jwt: async (_ctx, token, jwt) => machines.customizeJwt(token, jwt) } },
    jwks: { keys: [key.privateJwk as never] },
    cookies: {
      keys: cookieKey(config),
      names: { ...AS_COOKIE_NAMES },
      long: { httpOnly: true, sameSite: 'lax', secure },
      short: { httpOnly: true, sameSite: 'lax', secure },
    },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'email', ...new Set([...resources().values()].flat())],
    claims: { openid: ['sub'], profile: ['name', 'groups'], email: ['email'] },
    responseTypes: ['code'],
    ttl: {
      AccessToken: Math.round(as.accessTokenTtl / 1000),
      ClientCredentials: Math.round(as.accessTokenTtl / 1000),
      RefreshToken: Math.round(as.refreshTokenTtl / 1000),
      AuthorizationCode: 60,
      Grant: Math.round(as.refreshTokenTtl / 1000),
      Session: Math.round(config.session.maxAge / 1000),
      Interaction: 600,
      DeviceCode: 600,
      IdToken: 3600,
    },
    rotateRefreshToken: true,
    ...refreshPolicy(as.refreshWithoutOfflineAccess),
    extraParams: defaultScopeParam(MCP_SCOPE),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const claims = await accounts(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: () => ({ ...claims }) };
    },
    extraTokenClaims: async (_ctx, token) => {
      const t = token as { accountId?: string; grantId?: string };
      // A token answering an ID-JAG carries what the assertion said (`idp`: whose user, when not the login's).
      const claims = assertedUser(_ctx) ?? (t.accountId ? await accounts(t.accountId) : undefined);
      return {
        email: claims?.email,
        name: claims?.name,
        groups: claims?.groups ?? [],
        tenant: claims?.tenant,
        idp: claims && 'idp' in claims ? claims.idp : undefined,
        gid: t.grantId,
      };
    },
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' &&
      (client.clientAuthMethod === 'none'
        ? (client.redirectUris ?? []).some((u) => URL.parse(u)?.origin === origin)
        : false),
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      registration: { enabled: as.registration === 'open', initialAccessToken: false },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      deviceFlow: { enabled: true, ...deviceSources() },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      // Nonces on every replica alike (one secret); demanded only with `dpopNonce`, else offered (`use_dpop_nonce`
      // when a proof's iat is off).
      dPoP:
        as.dpop === 'off'
          ? { enabled: false }
          : {
              enabled: true,
              nonceSecret: derive(config.session.keys[0]!, 'mcp-oidc-proxy/as-dpop-nonce'),
              requireNonce: () => as.dpopNonce,
            },
      clientIdMetadataDocument: {
        enabled: as.clientIdMetadataDocuments,
        ack: 'draft-02',
        allowFetch: async (_ctx, clientId) => cimdFetchAllowed(clientId, opts.cimdTestOrigin),
      },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        defaultResource: () => {
          if (opts.defaultResource) return opts.defaultResource;
          throw new errors.InvalidTarget(
            'the resource parameter is required: name the MCP endpoint (e.g. <proxy>/mcp/<backend>)',
          );
        },
        getResourceServerInfo: (_ctx, resource) => resourceServerInfo(resource),
      },
    },
    fetch: providerFetch(machines, opts.cimdTestOrigin, opts.fetch),
    // Registered and metadata-document clients alike (the schema runs for both).
    extraClientMetadata: {
      properties: ['redirect_uris', 'jwks_uri', 'scope'],
      validator: (ctx, key, value, meta) => {
        if (!machines.has(meta.client_id)) clientUrlRules(ctx, key, value, meta);
      },
    },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], dPoPSigningAlgValues: DPOP_ALGS as never },
    clientDefaults: {
      id_token_signed_response_alg: 'ES256',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    // RFC 8414 extension (ID-JAG §7): which authorization grant profiles the jwt-bearer grant accepts.
    ...(enterprise ? { discovery: { authorization_grant_profiles_supported: [ID_JAG_PROFILE] } } : {}),
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const requestId = String(ctx.res.getHeader('x-request-id') ?? '');
      ctx.body = oauthErrorPageHtml(ctx.status, String(out.error), String(out.error_description ?? ''), requestId);
    },
  };
  const provider = new Provider(config.server.publicUrl, configuration);
  provider.proxy = Boolean(config.server.trustProxy);
  allowLoopbackRedirects(provider, redirectPatterns(as.redirectUriPatterns));
  restrictClientCredentials(provider, machines);
  if (enterprise)
    registerIdJagGrant(provider, {
      verifier: new IdJagVerifier(as.enterpriseIdps, config.server.publicUrl, opts.fetch),
      store,
      resources,
      resourceServerInfo,
      clientScopes: (clientId) => machines.get(clientId)?.scopes,
      baseScope: MCP_SCOPE,
      loginIssuer: config.oidc?.issuer,
      tenants: opts.tenants,
    });
  defaultClientScopes(provider, machines);
  if (as.dpop === 'required') refuseTokenRequestsWithoutProof(provider);
  return provider;
}

/** `dpop: required`: every token request must carry a DPoP proof (whatever the grant or the client's metadata). */
function refuseTokenRequestsWithoutProof(provider: Provider): void {
  const token = provider.pathFor('token');
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === token && !ctx.get('dpop')) {
      ctx.status = 400;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'invalid_dpop_proof', error_description: 'this server issues DPoP-bound tokens only' };
      return;
    }
    await next();
  });
}
