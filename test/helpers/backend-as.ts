/**
 * A backend that is itself an OAuth-protected MCP server, for the `upstream: {kind: oauth}` tests:
 * its own authorization server (oidc-provider 9: open DCR, PKCE required, resource indicators
 * with JWT access tokens whose `aud` is the MCP URL, rotated refresh tokens, revocation, the dev
 * IdP's login and consent pages) on one port, and a real MCP server (SDK, streamable HTTP) on
 * another that checks bearer tokens against that AS's JWKS and serves RFC 9728 metadata. The AS
 * can be stopped and started again on the same port (state kept) and counts what it did.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Fastify from 'fastify';
import Provider, { errors, type ClientMetadata, type Configuration } from 'oidc-provider';
import { storeAdapter } from '../../src/authz-server/adapter.js';
import { devIdpInteractions } from '../../src/devidp/interactions.js';
import { DEFAULT_DEV_USERS } from '../../src/devidp/plugin.js';
import { findUser, interactionPath, type DevUser } from '../../src/devidp/provider.js';
import { mountProvider } from '../../src/lib/oidc-provider-mount.js';
import { MemoryStore } from '../../src/store/memory.js';
import { listen, serveMcp, shut, type BackendMcp } from './backend-mcp.js';

export { fingerprint, type BackendCall, type BackendMcp } from './backend-mcp.js';

/** Users of the backend's AS: alice, bob (passwords = names) and carol. */
export const BACKEND_USERS: readonly DevUser[] = [
  ...DEFAULT_DEV_USERS,
  { username: 'carol', password: 'carol', email: 'carol@example.com', name: 'Carol Example', groups: [] },
];

/** The resource scopes the backend offers unless told otherwise. */
export const BACKEND_SCOPES = ['read', 'write'];

export interface BackendAsOptions {
  /** Access-token lifetime in seconds (default 3600); can be changed later with `setAccessTokenTtl`. */
  accessTokenTtl?: number;
  /** Refresh-token lifetime in seconds (default 1 day). */
  refreshTokenTtl?: number;
  users?: DevUser[];
  /** Show the consent page after login (default true). */
  consent?: boolean;
  /** Resource scopes of the MCP server (default read, write). */
  scopes?: string[];
  /** Pre-registered clients (for configured clientId/clientSecret); DCR is open anyway. */
  clients?: ClientMetadata[];
  /** Without `resource` at the authorization endpoint: invalid_target (default) or the MCP URL. */
  defaultResource?: boolean;
}

/** What the backend's AS did, for assertions. */
export interface BackendAsCounters {
  /** Dynamic client registrations (their client ids). */
  registrations: string[];
  /** authorization_code grants answered. */
  codeGrants: number;
  /** refresh_token grants answered. */
  refreshes: number;
  /** Revocation requests answered 200, with the kind of token destroyed (undefined: unknown token). */
  revocations: Array<{ clientId: string; kind?: string }>;
  /** Authorization requests: the `resource` and `scope` they asked for, and their client. */
  authorizations: Array<{ clientId: string; resource?: string; scope?: string }>;
}

export interface BackendAs {
  /** The AS issuer (its origin, no path). */
  issuer: string;
  provider: Provider;
  counters: BackendAsCounters;
  setAccessTokenTtl(seconds: number): void;
  /** Stops listening (open connections cut); state is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  running(): boolean;
  close(): Promise<void>;
}

export interface OAuthBackend {
  as: BackendAs;
  mcp: BackendMcp;
  close(): Promise<void>;
}

/** The backend's AS and its MCP server, both listening on loopback. */
export async function startOAuthBackend(opts: BackendAsOptions = {}): Promise<OAuthBackend> {
  const mcpServer = createServer();
  const mcpOrigin = `http://127.0.0.1:${await listen(mcpServer)}`;
  const asServer = createServer();
  const asPort = await listen(asServer);
  const issuer = `http://127.0.0.1:${asPort}`;
  const resource = `${mcpOrigin}/mcp`;
  const scopes = opts.scopes ?? BACKEND_SCOPES;
  const as = await startAs(asServer, asPort, issuer, resource, scopes, opts);
  const mcp = serveMcp(mcpServer, mcpOrigin, issuer, scopes);
  return {
    as,
    mcp,
    async close() {
      await mcp.close();
      await as.close();
    },
  };
}

async function startAs(
  server: Server,
  port: number,
  issuer: string,
  resource: string,
  scopes: string[],
  opts: BackendAsOptions,
): Promise<BackendAs> {
  const users = opts.users ?? [...BACKEND_USERS];
  let accessTokenTtl = opts.accessTokenTtl ?? 3600;
  const counters: BackendAsCounters = {
    registrations: [],
    codeGrants: 0,
    refreshes: 0,
    revocations: [],
    authorizations: [],
  };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // Cookie names unique per instance: browsers (and CookieJar) share cookies across ports of one host.
  const cookiePrefix = `backend_as_${port}`;
  const configuration: Configuration = {
    adapter: storeAdapter(new MemoryStore(10_000), `backend-as-${port}`),
    clients: opts.clients ?? [],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' } as never] },
    cookies: {
      names: {
        session: `${cookiePrefix}_session`,
        interaction: `${cookiePrefix}_interaction`,
        resume: `${cookiePrefix}_resume`,
      },
      keys: [randomBytes(32).toString('base64url')],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', ...scopes],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
    pkce: { required: () => true },
    responseTypes: ['code'],
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: (_ctx, sub) => {
      const user = findUser(users, sub);
      if (!user) return undefined;
      return {
        accountId: user.username,
        claims: () => ({ sub: user.username, name: user.name, preferred_username: user.username, email: user.email }),
      };
    },
    interactions: { url: (_ctx, interaction) => interactionPath(issuer, interaction.uid) },
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        defaultResource: () => {
          if (opts.defaultResource) return resource;
          throw new errors.InvalidTarget(`name the resource: ${resource}`);
        },
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return {
            audience: resource,
            scope: scopes.join(' '),
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: () => accessTokenTtl,
      RefreshToken: opts.refreshTokenTtl ?? 24 * 3600,
      AuthorizationCode: 60,
      Grant: opts.refreshTokenTtl ?? 24 * 3600,
      Session: 3600,
      Interaction: 600,
      IdToken: 3600,
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on('registration_create.success', (_ctx, client) => counters.registrations.push(client.clientId));
  provider.on('grant.success', (ctx) => {
    const type = (ctx.oidc.params as { grant_type?: string }).grant_type;
    if (type === 'refresh_token') counters.refreshes += 1;
    if (type === 'authorization_code') counters.codeGrants += 1;
  });
  provider.on('authorization.accepted', (ctx) => {
    const p = ctx.oidc.params as { resource?: string; scope?: string; client_id?: string };
    counters.authorizations.push({ clientId: String(p.client_id), resource: p.resource, scope: p.scope });
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'revocation' && ctx.status === 200) {
      const e = ctx.oidc.entities as { RefreshToken?: unknown; AccessToken?: unknown };
      const kind = e.RefreshToken ? 'RefreshToken' : e.AccessToken ? 'AccessToken' : undefined;
      counters.revocations.push({ clientId: String(ctx.oidc.client?.clientId), kind });
    }
  });

  const app = Fastify({ logger: false, serverFactory: (handler) => server.on('request', handler) });
  await mountProvider(app, { provider, prefix: '' });
  await app.register(devIdpInteractions, { provider, prefix: '', users, consent: opts.consent ?? true });
  await app.ready();

  return {
    issuer,
    provider,
    counters,
    setAccessTokenTtl: (s) => {
      accessTokenTtl = s;
    },
    stop: () => shut(server),
    start: async () => {
      if (!server.listening) await listen(server, port);
    },
    running: () => server.listening,
    async close() {
      await shut(server);
      await app.close();
    },
  };
}
