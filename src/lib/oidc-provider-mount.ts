/**
 * Mounts an oidc-provider `Provider` (a Koa app) inside a Fastify app, under a path prefix.
 *
 * An encapsulated plugin (deliberately NOT fastify-plugin) that:
 * - removes Fastify's body parsers and adds a no-op `'*'` parser, so `req.raw` reaches the
 *   provider unread (it parses bodies itself);
 * - registers one explicit route per provider path of the enabled features (a catch-all
 *   would swallow the host app's routes; middie-style mounting strips prefixes and 404s);
 * - hands the raw request to the provider with the prefix stripped from `req.url` and the
 *   full path kept in `req.originalUrl` (the Express convention oidc-provider reads to
 *   build absolute URLs, so discovery advertises endpoints under the prefix).
 *
 * Headers set by Fastify hooks (CORS, helmet) do not reach these hijacked routes: add
 * them with `provider.use(...)` (Koa middleware) when needed.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, HTTPMethods } from 'fastify';
import type Provider from 'oidc-provider';

export interface MountProviderOptions {
  provider: Provider;
  /**
   * Fastify route prefix (relative to the app it is registered in), e.g. `/_dev/idp`.
   * `mountProvider` defaults it to the issuer's path minus the app's own prefix.
   */
  prefix?: string;
  /** More provider paths (relative to the mount point, e.g. `/custom`) to route to the provider. */
  extraRoutes?: string[];
}

/** oidc-provider 9 route names (lib/helpers/initialize_app.js) and their path parameter. */
const ROUTE_NAMES: ReadonlyArray<readonly [name: string, param?: string]> = [
  ['authorization'],
  ['resume', 'uid'],
  ['userinfo'],
  ['token'],
  ['jwks'],
  ['discovery'],
  ['registration'],
  ['client', 'clientId'],
  ['revocation'],
  ['introspection'],
  ['end_session'],
  ['end_session_confirm'],
  ['end_session_success'],
  ['device_authorization'],
  ['code_verification'],
  ['device_resume', 'uid'],
  ['pushed_authorization_request'],
  ['backchannel_authentication'],
  ['challenge'],
  ['credential'],
  ['openid_credential_issuer'],
];

/** Registered under the `discovery` name too, but the router remembers only the first path. */
const ALWAYS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

const METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'];
const PLACEHOLDER = '__oidc_mount_param__';

/**
 * The route prefix that puts `issuer`'s path under `app` (whose own prefix may already
 * cover part of it): `/_dev/idp` from the root, '' inside a plugin registered at that prefix.
 */
export function prefixFor(app: FastifyInstance, issuer: string): string {
  const issuerPath = normalizePrefix(new URL(issuer).pathname);
  const appPrefix = normalizePrefix(app.prefix);
  if (issuerPath !== appPrefix && !issuerPath.startsWith(`${appPrefix}/`)) {
    throw new Error(`issuer path "${issuerPath}" is not under the app's prefix "${appPrefix}"`);
  }
  return issuerPath.slice(appPrefix.length);
}

/** Normalizes a prefix: '' for the root, else '/a/b' (leading slash, no trailing one). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (!trimmed) return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/**
 * The provider's paths for its enabled routes, relative to its mount point, in Fastify
 * syntax (`/auth/:uid`). Route names not registered (disabled features) are skipped.
 */
export function providerPaths(provider: Provider): string[] {
  const paths = new Set(ALWAYS);
  for (const [name, param] of ROUTE_NAMES) {
    let path: string;
    try {
      path = provider.pathFor(name, { mountPath: '', ...(param ? { [param]: PLACEHOLDER } : {}) });
    } catch {
      continue; // route not registered: feature disabled
    }
    paths.add(param ? path.replace(PLACEHOLDER, `:${param}`) : path);
  }
  return [...paths];
}

type MountedRequest = IncomingMessage & { originalUrl?: string };

/**
 * The encapsulated plugin; prefer `mountProvider(app, opts)`. Register it with Fastify's
 * `prefix` option: routes are relative, the request URL is stripped of the full prefix.
 */
export const oidcProviderMount: FastifyPluginAsync<MountProviderOptions> = async (app, opts) => {
  const { provider } = opts;
  const prefix = normalizePrefix(app.prefix);
  const handle = provider.callback();
  // oidc-provider builds every absolute URL it hands out (metadata endpoints, the device
  // verification_uri, token-endpoint audiences) from the request's Host, or with `proxy` from
  // X-Forwarded-Host/-Proto: headers a client can send. Ours come from the issuer alone.
  const issuer = new URL(provider.issuer);
  const pinToIssuer = (raw: IncomingMessage) => {
    raw.headers.host = issuer.host;
    if (provider.proxy) {
      raw.headers['x-forwarded-host'] = issuer.host;
      raw.headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
    }
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  const paths = new Set([...providerPaths(provider), ...(opts.extraRoutes ?? [])]);
  for (const path of paths) {
    app.route({
      method: METHODS,
      url: path,
      handler: async (req, reply) => {
        reply.hijack();
        // The request id (X-Request-Id, on the error page) reaches the hijacked response too.
        reply.raw.setHeader('x-request-id', String(req.id));
        const raw = req.raw as MountedRequest;
        pinToIssuer(raw);
        const url = raw.url ?? '/';
        if (prefix && url.startsWith(prefix)) {
          raw.originalUrl = url;
          raw.url = url.slice(prefix.length) || '/';
        }
        await handle(raw, reply.raw);
      },
    });
  }
};

/** Mounts `provider` in `app` (inside its own encapsulated context); await it or `app.ready()`. */
export function mountProvider(app: FastifyInstance, opts: MountProviderOptions) {
  const prefix = normalizePrefix(opts.prefix ?? prefixFor(app, opts.provider.issuer));
  return app.register(oidcProviderMount, { ...opts, prefix });
}
