/**
 * The configuration schema (the keys are documented in README.md). Every object is strict:
 * unknown keys are errors. Durations are parsed to milliseconds here, so the rest of the code
 * sees numbers. What only an IdP preset can judge is checked outside config/ (see load.ts).
 */
import { z } from 'zod';
import { BackendSchema, pemPaths, RateLimitSchema } from './backend-schema.js';
import { VirtualServerSchema, virtualServerProblems } from './virtual-schema.js';
import { duration, name, strList, url } from './zod-helpers.js';
import { crossFieldProblems } from './cross-checks.js';
import { EnterpriseIdpsSchema } from './enterprise-idps-schema.js';
import { AsClientsSchema } from './as-clients-schema.js';
import { ClientCertificatesSchema, ServerTlsSchema } from './server-tls-schema.js';
import { redirectPatternProblem } from '../lib/redirect-patterns.js';

/** The IdP presets `oidc.provider` may name (each is implemented in src/oidc/providers/). */
export const PROVIDER_NAMES = ['okta', 'keycloak', 'auth0', 'entra', 'google', 'github', 'generic'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

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

/** `authorizationServer.redirectUriPatterns[]`: a known client, by name or client_id, and its callbacks. */
const RedirectUriPatternSchema = z
  .strictObject({
    clientNames: z.array(z.string().min(1)).default([]),
    clientIds: z.array(z.string().min(1)).default([]),
    redirectUris: z.array(z.string().superRefine(checkRedirectPattern)).min(1),
  })
  .refine((g) => g.clientNames.length + g.clientIds.length > 0, 'name the client: clientNames or clientIds');

function checkRedirectPattern(p: string, ctx: z.RefinementCtx) {
  const problem = redirectPatternProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

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
        /** Listen over HTTPS with these files, re-read on SIGHUP and on change (server-tls-schema.ts). */
        tls: ServerTlsSchema.optional(),
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
        /** Enterprise IdPs whose ID-JAGs the jwt-bearer grant accepts: see enterprise-idps-schema.ts. */
        enterpriseIdps: EnterpriseIdpsSchema,
        /** Machine clients (client_credentials): see as-clients-schema.ts. */
        clients: AsClientsSchema,
        /** RFC 9449: bind tokens to the client's key when it sends a proof (`required`: always; `off`: never). */
        dpop: z.enum(['allowed', 'required', 'off']).default('allowed'),
        /** DPoP proofs at the MCP and REST endpoints must carry a server nonce (`use_dpop_nonce` first). */
        dpopNonce: z.boolean().default(false),
        /** Public PKCE clients get a refresh token without asking for offline_access (claude.ai, Claude Code). */
        refreshWithoutOfflineAccess: z.boolean().default(true),
        /** Callback URLs a known client may move between (redirect-patterns.ts). */
        redirectUriPatterns: z.array(RedirectUriPatternSchema).default([]),
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
    /** Client certificates (mTLS, `server.tls.clientCa`) that are principals, by DER sha256 (server-tls-schema.ts). */
    clientCertificates: ClientCertificatesSchema,
    backends: z
      .array(BackendSchema)
      .min(1, 'at least one backend is required')
      .superRefine((list, ctx) => duplicateNames(list, ctx), { when: (p) => Array.isArray(p.value) }),
    /** Several backends as one MCP server at `/mcp/<name>` (DESIGN.md §12). */
    virtualServers: z.array(VirtualServerSchema).default([]),
    policy: z.strictObject({ mode: z.enum(['enforce', 'dry-run']).default('enforce') }).prefault({}),
    /** How log lines look: `pretty` (one readable line each) or `json`; default pretty on a terminal, else json. */
    log: z.strictObject({ format: z.enum(['pretty', 'json']).optional() }).prefault({}),
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
    /** The admin console at /admin and /admin/api/* (DESIGN.md §13), for members of `groups`; off when unset. */
    admin: z.strictObject({ groups: z.array(z.string().min(1)).min(1) }).optional(),
    /** Outbound TLS: extra CAs (PEM files) every outbound call trusts beside Node's roots (DESIGN.md §13). */
    tls: z.strictObject({ ca: pemPaths.optional() }).optional(),
    /** Prometheus metrics at GET /metrics (no credentials, like /healthz); 404 when disabled. */
    metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
    /** OpenTelemetry traces over OTLP/HTTP (`<endpoint>/v1/traces`); absent: off, no SDK loaded. */
    telemetry: z
      .strictObject({
        otlp: z.strictObject({ endpoint: url }).optional(),
        serviceName: z.string().min(1).default('mcp-oidc-proxy'),
      })
      .optional(),
  })
  .superRefine((c, ctx) => crossFieldProblems(c, (path, message) => ctx.addIssue({ code: 'custom', path, message })))
  // Also when other keys are wrong: every problem in one run.
  .superRefine(
    (c, ctx) => virtualServerProblems(c, (path, message) => ctx.addIssue({ code: 'custom', path, message })),
    { when: (p) => typeof p.value === 'object' && p.value !== null },
  );

/** Backend names are unique; read from every backend that has a name, valid or not (every problem in one run). */
function duplicateNames(list: unknown[], ctx: z.RefinementCtx): void {
  const seen = new Set<unknown>();
  list.forEach((b, i) => {
    const n = typeof b === 'object' && b !== null ? (b as { name?: unknown }).name : undefined;
    if (typeof n !== 'string') return;
    if (seen.has(n)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate backend name "${n}"` });
    seen.add(n);
  });
}

export type RawConfig = z.input<typeof ConfigSchema>;
export type ParsedConfig = z.output<typeof ConfigSchema>;
export type OidcSection = z.output<typeof OidcSchema>;

export { AllowSchema, BackendSchema, UpstreamSchema } from './backend-schema.js';
export type { AllowRule, BackendConfig } from './backend-schema.js';
