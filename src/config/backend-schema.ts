/**
 * The schema of one backend: transport (http or stdio), who may use it (allow, tools,
 * resources, prompts rules), identity propagation, rate limit and upstream credentials.
 */
import { z } from 'zod';
import { duration, name, strList, url } from './zod-helpers.js';
import { isLoopbackHost } from '../lib/net.js';

export const AllowSchema = z.strictObject({
  groups: strList,
  emails: strList,
  domains: strList,
  scopes: strList,
  apiKeys: strList,
  tenants: strList,
  subjects: strList,
  /** Machine clients (authorizationServer.clients) by clientId: their client_credentials tokens. */
  clients: strList,
});

const RuleSchema = z.strictObject({
  match: z.string().min(1),
  allow: AllowSchema.optional(),
  deny: z.boolean().default(false),
  /** OAuth scopes a bearer token must carry for this call (MCP step-up: 403 insufficient_scope). */
  scopes: strList,
});

const IdentitySchema = z.strictObject({
  headers: z.boolean().default(true),
  assertion: z.boolean().default(true),
  meta: z.boolean().optional(),
  env: z.boolean().optional(),
});

export const RateLimitSchema = z.strictObject({
  max: z.number().int().positive(),
  window: duration('1m'),
  per: z.enum(['user', 'tenant']).default('user'),
});

/** PEM file paths: one, or a list (DESIGN.md §13). */
export const pemPaths = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** TLS toward one backend: its CA (beside Node's roots and `tls.ca`), a client certificate (mTLS), its name. */
const BackendTlsSchema = z
  .strictObject({
    ca: pemPaths.optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** The name the backend's certificate must carry (and SNI), when not the URL's host. */
    serverName: z.string().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if (Boolean(t.cert) !== Boolean(t.key))
      ctx.addIssue({ code: 'custom', path: [t.cert ? 'key' : 'cert'], message: 'cert and key go together (mTLS)' });
  });

const HttpBackendSchema = z.strictObject({
  url,
  /** https only: see BackendTlsSchema. */
  tls: BackendTlsSchema.optional(),
  timeout: duration('60s'),
  connectTimeout: duration('10s'),
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * streamable HTTP, the 2024-11-05 HTTP+SSE transport (`url` is then its SSE endpoint), or
   * `auto`: streamable, falling back to HTTP+SSE when the initialize POST gets a 4xx.
   */
  transport: z.enum(['streamable', 'sse', 'auto']).default('auto'),
  /** HTTP+SSE client sessions and version-bridge upstream sessions: idle this long, closed. */
  idleTimeout: duration('10m'),
  /**
   * The MCP revision the server speaks: auto (found out), 2025 (never reverse-bridged; 2026-07-28
   * clients always version-bridged) or 2026-07-28 (only that).
   */
  protocol: z.enum(['auto', '2025', '2026-07-28']).default('auto'),
});

const StdioBackendSchema = z.strictObject({
  command: z.string().min(1),
  args: strList,
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  isolation: z.enum(['session', 'user', 'shared']).default('session'),
  idleTimeout: duration('10m'),
  maxProcesses: z.number().int().positive().default(100),
  maxProcessesPerUser: z.number().int().positive().optional(),
  requestTimeout: duration('60s'),
});

const authMethod = z.enum(['client_secret_basic', 'client_secret_post']);
/** stdio backends: the variable the token goes in (and `<env>_FILE`, the file kept fresh). */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name: letters, digits and _, not starting with a digit');

/** RFC 8693 token exchange of the user's upstream token; endpoint and client default to `oidc`'s. */
const TokenExchangeSchema = z.strictObject({
  kind: z.literal('tokenExchange'),
  audience: z.string().min(1).optional(),
  resource: z.string().min(1).optional(),
  scopes: strList,
  subjectToken: z.enum(['access_token', 'id_token']).default('access_token'),
  tokenEndpoint: url.optional(),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  tokenEndpointAuthMethod: authMethod.optional(),
  env: envName.optional(),
  /** What the token endpoint speaks (src/upstream/exchange.ts): absent = rfc8693. */
  dialect: z.enum(['rfc8693', 'okta', 'entra', 'keycloak']).optional(),
  /** The IdP whose bearer JWTs are exchanged as they are (default: oidc's issuer). */
  issuer: url.optional(),
});

/** The proxy's own service identity toward the backend (one token per backend, not per user). */
const ClientCredentialsSchema = z.strictObject({
  kind: z.literal('clientCredentials'),
  tokenEndpoint: url,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  scopes: strList,
  audience: z.string().min(1).optional(),
  resource: z.string().min(1).optional(),
  tokenEndpointAuthMethod: authMethod.optional(),
  env: envName.optional(),
});

/**
 * The backend is itself OAuth-protected: each user connects it in the browser (authorization
 * code + PKCE at the backend's own authorization server, found from its RFC 9728 metadata or
 * `issuer`); the client is the configured one, else a Client ID Metadata Document, else DCR.
 */
const OAuthUpstreamSchema = z.strictObject({
  kind: z.literal('oauth'),
  issuer: url.optional(),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
  scopes: strList,
  resource: z.string().min(1).optional(),
  audience: z.string().min(1).optional(),
  /** stdio backends: the environment variable that carries the user's token. */
  env: envName.optional(),
});

/** How the proxy obtains a credential to act toward the backend (README, "Backends that act as the user"). */
export const UpstreamSchema = z.discriminatedUnion('kind', [
  TokenExchangeSchema,
  ClientCredentialsSchema,
  OAuthUpstreamSchema,
]);

export const BackendSchema = z
  .strictObject({
    name,
    title: z.string().optional(),
    description: z.string().optional(),
    http: HttpBackendSchema.optional(),
    stdio: StdioBackendSchema.optional(),
    allow: AllowSchema.optional(),
    tools: z.array(RuleSchema).optional(),
    resources: z.array(RuleSchema).optional(),
    prompts: z.array(RuleSchema).optional(),
    identity: IdentitySchema.optional(),
    forwardAccessToken: z.boolean().default(false),
    upstream: UpstreamSchema.optional(),
    rateLimit: RateLimitSchema.optional(),
    default: z.boolean().default(false),
  })
  // Also when other keys of the backend are wrong: every problem in one run.
  .superRefine(
    (b, ctx) => {
      if ((b.http === undefined) === (b.stdio === undefined))
        ctx.addIssue({ code: 'custom', message: 'a backend needs exactly one of "http" or "stdio"' });
    },
    { when: (p) => typeof p.value === 'object' && p.value !== null },
  )
  .superRefine((b, ctx) => {
    if (b.http?.tls && b.http.url.startsWith('http:'))
      ctx.addIssue({
        code: 'custom',
        path: ['http', 'tls'],
        message: 'tls is for an https url (this one is plain http)',
      });
  })
  .superRefine((b, ctx) => upstreamProblems(b, ctx));

function upstreamProblems(
  b: {
    name: string;
    http?: unknown;
    stdio?: { isolation: string; env: Record<string, string> };
    forwardAccessToken: boolean;
    upstream?: { kind: string; env?: unknown } & Record<string, unknown>;
  },
  ctx: z.RefinementCtx,
): void {
  const u = b.upstream;
  if (!u) return;
  const issue = (message: string, path: PropertyKey[] = ['upstream']) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (u.kind === 'oauth') oauthProblems(b, u, issue);
  stdioProblems(b.name, b.stdio, u.env, b.http !== undefined, issue);
  if (b.forwardAccessToken)
    issue('forwardAccessToken and upstream both set the Authorization header: choose one', ['forwardAccessToken']);
  if (u.kind === 'tokenExchange' && u.clientId !== undefined && u.clientSecret === undefined)
    issue('a tokenExchange clientId needs its clientSecret', ['upstream', 'clientSecret']);
  if (u.kind === 'tokenExchange') dialectProblems(u, issue);
  for (const k of ['tokenEndpoint', 'issuer'] as const) {
    const v = typeof u[k] === 'string' ? URL.parse(u[k]) : null;
    if (v?.protocol === 'http:' && !isLoopbackHost(v.hostname))
      issue(`a plain-http ${k === 'issuer' ? 'issuer' : 'token endpoint'} is refused unless it is loopback`, [
        'upstream',
        k,
      ]);
  }
}

/** `kind: oauth` combinations that cannot work. */
function oauthProblems(
  b: { stdio?: unknown },
  u: Record<string, unknown>,
  issue: (message: string, path?: PropertyKey[]) => void,
): void {
  if (b.stdio && u.issuer === undefined)
    issue('a stdio backend has no RFC 9728 metadata: its oauth upstream needs "issuer"', ['upstream', 'issuer']);
  if (u.clientSecret !== undefined && u.clientId === undefined)
    issue('an oauth clientSecret needs its clientId', ['upstream', 'clientId']);
  if (u.tokenEndpointAuthMethod !== undefined && u.clientId === undefined)
    issue('tokenEndpointAuthMethod is for a configured clientId', ['upstream', 'tokenEndpointAuthMethod']);
  const method = u.tokenEndpointAuthMethod;
  if (method === 'none' && u.clientSecret !== undefined)
    issue('tokenEndpointAuthMethod "none" takes no clientSecret', ['upstream', 'clientSecret']);
  if ((method === 'client_secret_basic' || method === 'client_secret_post') && u.clientSecret === undefined)
    issue(`tokenEndpointAuthMethod "${method}" needs a clientSecret`, ['upstream', 'clientSecret']);
}

/** A stdio backend gets its token in `env` (per user or session only); an http one in Authorization. */
function stdioProblems(
  name: string,
  stdio: { isolation: string; env: Record<string, string> } | undefined,
  env: unknown,
  http: boolean,
  issue: (message: string, path: PropertyKey[]) => void,
): void {
  if (http && env !== undefined)
    issue(`backend "${name}": upstream.env is for stdio backends (an http backend gets Authorization)`, [
      'upstream',
      'env',
    ]);
  if (!stdio) return;
  if (env === undefined)
    issue(`backend "${name}": a stdio backend's upstream needs env, the variable its token goes in`, [
      'upstream',
      'env',
    ]);
  if (stdio.isolation === 'shared')
    issue(`backend "${name}": upstream credentials need stdio.isolation user or session, not shared`, [
      'stdio',
      'isolation',
    ]);
  for (const k of typeof env === 'string' ? [env, `${env}_FILE`] : [])
    if (Object.hasOwn(stdio.env, k))
      issue(`backend "${name}": stdio.env already sets ${k}, which upstream.env sets`, ['upstream', 'env']);
}

/** What each dialect cannot do without (README, "Backends that act as the user"). */
function dialectProblems(u: Record<string, unknown>, issue: (message: string, path: PropertyKey[]) => void): void {
  const d = u.dialect as string | undefined;
  const has = (k: string) => (Array.isArray(u[k]) ? (u[k] as unknown[]).length > 0 : u[k] !== undefined);
  if (u.issuer !== undefined && (!has('tokenEndpoint') || !has('clientId')))
    issue(
      "upstream.issuer names another IdP: set its tokenEndpoint, clientId and clientSecret (omit issuer for oidc's)",
      ['upstream', 'issuer'],
    );
  if (!d || d === 'rfc8693') return;
  const at = (k: string) => ['upstream', k];
  if (u.subjectToken !== 'access_token')
    issue(`dialect ${d} exchanges the user's access token: subjectToken must be access_token`, at('subjectToken'));
  if (has('resource')) issue(`dialect ${d} sends no resource: name the target with audience or scopes`, at('resource'));
  if (d === 'okta' && !has('audience'))
    issue("dialect okta needs audience: the custom authorization server's audience (e.g. api://crm)", at('audience'));
  if (d === 'okta' && !has('scopes'))
    issue('dialect okta needs scopes: Okta requires scope in a token exchange', at('scopes'));
  if (d === 'keycloak' && !has('audience'))
    issue('dialect keycloak needs audience: the client id of the target client', at('audience'));
  if (d === 'entra' && has('audience'))
    issue('dialect entra sends no audience: name the API in scopes (e.g. api://crm/.default)', at('audience'));
  if (d === 'entra' && !has('scopes'))
    issue("dialect entra needs scopes: the downstream API's, e.g. api://crm/.default", at('scopes'));
}

export type BackendConfig = z.output<typeof BackendSchema>;
export type AllowRule = z.output<typeof AllowSchema>;
