/**
 * The configuration schema (the keys are documented in README.md). Every object is strict:
 * unknown keys are errors. Durations are parsed to milliseconds here, so the rest of the code
 * sees numbers. What only an IdP preset can judge is checked outside config/ (see load.ts).
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { isLoopbackHost } from '../lib/net.js';

/** The IdP presets `oidc.provider` may name (each is implemented in src/oidc/providers/). */
export const PROVIDER_NAMES = ['okta', 'keycloak', 'auth0', 'entra', 'google', 'github', 'generic'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (use e.g. 30s, 10m, 8h, 30d)` });
        return z.NEVER;
      }
      return ms;
    });

const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const strList = z.array(z.string()).default([]);
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'names use letters, digits, "-" and "_" (max 63)');

export const AllowSchema = z.strictObject({
  groups: strList,
  emails: strList,
  domains: strList,
  scopes: strList,
  apiKeys: strList,
  tenants: strList,
  subjects: strList,
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

const RateLimitSchema = z.strictObject({
  max: z.number().int().positive(),
  window: duration('1m'),
  per: z.enum(['user', 'tenant']).default('user'),
});

const HttpBackendSchema = z.strictObject({
  url,
  timeout: duration('60s'),
  connectTimeout: duration('10s'),
  headers: z.record(z.string(), z.string()).default({}),
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
});

/** Reserved: the per-user browser connect flow is not implemented yet (refused below with a clear problem). */
const OAuthUpstreamSchema = z.looseObject({ kind: z.literal('oauth') });

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
  .superRefine((b, ctx) => {
    if (!!b.http === !!b.stdio)
      ctx.addIssue({ code: 'custom', message: 'a backend needs exactly one of "http" or "stdio"' });
    upstreamProblems(b, ctx);
  });

function upstreamProblems(
  b: { stdio?: unknown; forwardAccessToken: boolean; upstream?: { kind: string } & Record<string, unknown> },
  ctx: z.RefinementCtx,
): void {
  const u = b.upstream;
  if (!u) return;
  const issue = (message: string, path: PropertyKey[] = ['upstream']) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (u.kind === 'oauth')
    issue('upstream kind "oauth" is not implemented yet (use tokenExchange or clientCredentials)', [
      'upstream',
      'kind',
    ]);
  if (b.stdio) issue('upstream credentials are implemented for http backends only (not yet for stdio)');
  if (b.forwardAccessToken)
    issue('forwardAccessToken and upstream both set the Authorization header: choose one', ['forwardAccessToken']);
  if (u.kind === 'tokenExchange' && u.clientId !== undefined && u.clientSecret === undefined)
    issue('a tokenExchange clientId needs its clientSecret', ['upstream', 'clientSecret']);
  for (const k of ['tokenEndpoint'] as const) {
    const v = typeof u[k] === 'string' ? URL.parse(u[k]) : null;
    if (v?.protocol === 'http:' && !isLoopbackHost(v.hostname))
      issue('a plain-http token endpoint is refused unless it is loopback', ['upstream', k]);
  }
}

export const OidcSchema = z.strictObject({
  issuer: url,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  redirectUri: url.optional(),
  /** Default: the preset's (openid, profile, email, offline_access for most; see src/oidc/providers/). */
  scopes: z.array(z.string()).optional(),
  groupsClaim: z.string().default('groups'),
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  postLogoutRedirectUri: url.optional(),
  allowInsecure: z.boolean().default(false),
  extraAuthParams: z.record(z.string(), z.string()).default({}),
  /** The IdP preset (its quirks: src/oidc/providers/); default: inferred from the issuer, else generic. */
  provider: z.enum(PROVIDER_NAMES).optional(),
  /** Auth0: the API identifier sent as the `audience` authorization parameter. */
  audience: z.string().min(1).optional(),
  /** Google: Workspace domains (`hd` claim) allowed to log in; default: any. */
  allowedDomains: strList,
  /** OAuth 2.0 servers without discovery (GitHub): the endpoints, when not the preset's defaults. */
  endpoints: z
    .strictObject({ authorization: url.optional(), token: url.optional(), userinfo: url.optional() })
    .optional(),
});

const key32 = z.string().refine((k) => Buffer.from(k, 'base64').length === 32, {
  message: 'session keys are 32 bytes, base64-encoded (generate one: openssl rand -base64 32)',
});

export const ConfigSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        publicUrl: url.optional(),
        /** How the other replicas reach this one (several replicas sharing a Redis/PostgreSQL store). */
        advertiseUrl: url.optional(),
        trustProxy: z.union([z.boolean(), z.string(), z.number()]).default(false),
        bodyLimit: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /**
         * The whole request (headers and body) must arrive within this, else 408:
         * a client that stalls or drips its body cannot hold a connection forever.
         */
        requestTimeout: duration('60s'),
        allowedOrigins: strList,
        shutdownTimeout: duration('10s'),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Reload when the config file changes (as on SIGHUP; see src/app/reload.ts). */
        watchConfig: z.boolean().default(false),
      })
      .prefault({}),
    oidc: OidcSchema.optional(),
    session: z.strictObject({
      keys: z.array(key32).min(1, 'at least one session key is required'),
      cookieName: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/)
        .default('mcp_proxy_session'),
      maxAge: duration('8h'),
      idleTimeout: duration('1h'),
    }),
    authorizationServer: z
      .strictObject({
        enabled: z.boolean().default(true),
        accessTokenTtl: duration('10m'),
        refreshTokenTtl: duration('30d'),
        registration: z.enum(['open', 'off']).default('open'),
        clientIdMetadataDocuments: z.boolean().default(true),
      })
      .prefault({}),
    externalTokens: z
      .strictObject({
        jwt: z
          .array(
            z.strictObject({
              issuer: z.string().min(1),
              audience: z.array(z.string()).default([]),
              jwksUri: url.optional(),
              groupsClaim: z.string().default('groups'),
              sameUsers: z.boolean().optional(),
            }),
          )
          .default([]),
        introspection: z
          .strictObject({
            endpoint: url,
            clientId: z.string(),
            clientSecret: z.string(),
            /**
             * An active token's `aud` must name one of these; default: this proxy's
             * resources (`<publicUrl>`, `<publicUrl>/mcp`, `<publicUrl>/mcp/<backend>`).
             */
            audience: z.array(z.string().min(1)).min(1).optional(),
            /** When set, an active answer's `iss` must be exactly this. */
            issuer: z.string().min(1).optional(),
          })
          .optional(),
      })
      .optional(),
    apiKeys: z
      .array(
        z.strictObject({
          name,
          sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'sha256 is 64 hex characters'),
          subject: z.string().min(1),
          scopes: strList,
          groups: strList,
          email: z.string().optional(),
          tenant: z.string().optional(),
        }),
      )
      .default([]),
    backends: z.array(BackendSchema).min(1, 'at least one backend is required'),
    policy: z.strictObject({ mode: z.enum(['enforce', 'dry-run']).default('enforce') }).prefault({}),
    /** Audit lines: stdout unless `file` names a file to append to. */
    audit: z
      .strictObject({
        file: z.string().min(1).optional(),
        /** Write tool/prompt arguments into audit lines (off by default), with these keys redacted at any depth. */
        arguments: z.boolean().default(false),
        redact: z
          .array(z.string())
          .default(['password', 'secret', 'token', 'apiKey', 'api_key', 'authorization', 'cookie']),
      })
      .prefault({}),
    tenants: z
      .strictObject({
        /** Email domain → tenant. */
        domains: z.record(z.string(), z.string()).default({}),
        /** A token or ID-token claim naming the tenant directly, tried before the domain map. */
        claim: z.string().optional(),
        default: z.string().optional(),
      })
      .optional(),
    /** Per client address on the open endpoints; off unless configured; the stores are bounded either way. */
    rateLimit: z
      .strictObject({
        login: RateLimitSchema.optional(),
        register: RateLimitSchema.optional(),
        token: RateLimitSchema.optional(),
        device: RateLimitSchema.optional(),
      })
      .optional(),
    devIdp: z
      .strictObject({
        enabled: z.boolean().default(false),
        consent: z.boolean().default(false),
        users: z
          .array(
            z.strictObject({
              username: z.string().min(1),
              password: z.string().min(1),
              email: z.string().optional(),
              name: z.string().optional(),
              groups: strList,
            }),
          )
          .default([]),
      })
      .optional(),
    store: z
      .strictObject({ kind: z.enum(['memory', 'redis', 'postgres']).default('memory'), url: z.string().optional() })
      .prefault({}),
    signing: z.strictObject({ keyFile: z.string().optional() }).optional(),
    /** Prometheus metrics at GET /metrics (no credentials, like /healthz); 404 when disabled. */
    metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.backends.forEach((b, i) => {
      if (seen.has(b.name))
        ctx.addIssue({ code: 'custom', path: ['backends', i, 'name'], message: `duplicate backend name "${b.name}"` });
      seen.add(b.name);
    });
    c.backends.forEach((b, i) => {
      const u = b.upstream;
      if (u?.kind === 'tokenExchange' && !c.oidc && !(u.tokenEndpoint && u.clientId))
        ctx.addIssue({
          code: 'custom',
          path: ['backends', i, 'upstream'],
          message: 'tokenExchange needs the oidc section (its token endpoint and client) or tokenEndpoint and clientId',
        });
    });
    if (c.backends.filter((b) => b.default).length > 1)
      ctx.addIssue({ code: 'custom', path: ['backends'], message: 'only one backend may be "default"' });
    if (c.oidc && !c.oidc.clientSecret)
      ctx.addIssue({
        code: 'custom',
        path: ['oidc', 'clientSecret'],
        message:
          'the proxy is a confidential client: clientSecret is required (or OIDC_CLIENT_SECRET / --client-secret-file)',
      });
    // URL.parse: refinements also run on values the field's own check already refused.
    const issuer = c.oidc ? URL.parse(c.oidc.issuer) : null;
    if (c.oidc && issuer?.protocol === 'http:' && !c.oidc.allowInsecure && !isLoopbackHost(issuer.hostname))
      ctx.addIssue({
        code: 'custom',
        path: ['oidc', 'issuer'],
        message: 'a plain-http issuer is refused unless it is loopback or oidc.allowInsecure is true',
      });
    for (const [k, v] of Object.entries(c.oidc?.endpoints ?? {})) {
      const u = typeof v === 'string' ? URL.parse(v) : null;
      if (u?.protocol === 'http:' && !c.oidc!.allowInsecure && !isLoopbackHost(u.hostname))
        ctx.addIssue({
          code: 'custom',
          path: ['oidc', 'endpoints', k],
          message: 'a plain-http endpoint is refused unless it is loopback or oidc.allowInsecure is true',
        });
    }
    if (c.server.advertiseUrl && c.store.kind === 'memory')
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'advertiseUrl'],
        message: 'several replicas need a shared store: set store.kind to redis or postgres',
      });
    if (c.store.kind !== 'memory' && !c.store.url)
      ctx.addIssue({ code: 'custom', path: ['store', 'url'], message: `store "${c.store.kind}" needs a url` });
  });

export type RawConfig = z.input<typeof ConfigSchema>;
export type ParsedConfig = z.output<typeof ConfigSchema>;
export type OidcSection = z.output<typeof OidcSchema>;
export type BackendConfig = z.output<typeof BackendSchema>;
export type AllowRule = z.output<typeof AllowSchema>;
