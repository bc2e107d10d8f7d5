/**
 * The development IdP as a Fastify plugin (mounted by the proxy at `/_dev/idp` when
 * `devIdp.enabled`), and as a standalone server for tests and demos
 * (`http://127.0.0.1:<port>/oauth2/default`, Okta-like).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyPluginAsync } from 'fastify';
import type { ClientMetadata } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { mountProvider, normalizePrefix, prefixFor } from '../lib/oidc-provider-mount.js';
import { devIdpInteractions } from './interactions.js';
import { createDevIdpProvider, type DevIdpTtl, type DevUser } from './provider.js';

export interface DevIdpPluginOptions {
  /** Issuer identifier, e.g. `http://127.0.0.1:8080/_dev/idp`. */
  issuer: string;
  /**
   * Fastify's route prefix when registered with one (the proxy: `/_dev/idp`); the issuer's
   * path must be at or under it. Without it, routes go under the issuer's path.
   */
  prefix?: string;
  users: DevUser[];
  clients: ClientMetadata[];
  consent: boolean;
  logger?: FastifyBaseLogger;
  cookiePrefix?: string;
  ttl?: DevIdpTtl;
  /** Trust X-Forwarded-Proto/Host (behind a TLS-terminating proxy): `provider.proxy`. */
  trustProxy?: boolean;
  /** Receives the provider once created (e.g. to inspect or revoke in tests). */
  onProvider?: (provider: Provider) => void;
}

export const DEFAULT_DEV_USERS: readonly DevUser[] = Object.freeze([
  {
    username: 'alice',
    password: 'alice',
    email: 'alice@example.com',
    name: 'Alice Example',
    groups: ['admin', 'support'],
  },
  { username: 'bob', password: 'bob', email: 'bob@example.com', name: 'Bob Example', groups: ['support'] },
]);

/** Encapsulated on purpose: the provider's routes replace Fastify's body parsing. */
export const devIdpPlugin: FastifyPluginAsync<DevIdpPluginOptions> = async (app, opts) => {
  const prefix = prefixFor(app, opts.issuer); // what remains of the issuer path below app.prefix
  const provider = await createDevIdpProvider({
    issuer: opts.issuer,
    users: opts.users,
    clients: opts.clients,
    consent: opts.consent,
    cookiePrefix: opts.cookiePrefix,
    ttl: opts.ttl,
  });
  const log = opts.logger ?? app.log;
  provider.proxy = opts.trustProxy ?? false;
  provider.on('server_error', (_ctx: unknown, err: Error) => log.error({ err }, 'development IdP: server error'));
  opts.onProvider?.(provider);
  await mountProvider(app, { provider, prefix });
  await app.register(devIdpInteractions, { provider, prefix, users: opts.users, consent: opts.consent });
  log.warn(
    { issuer: opts.issuer, users: opts.users.map((u) => u.username) },
    `DEVELOPMENT IdP enabled at ${opts.issuer} — never use in production`,
  );
};

/**
 * An HTTP server already listening (port 0 = any free port), so its URL is known before the app is built;
 * with `tls` (PEM key and certificate) an HTTPS one.
 */
export async function listenFirst(
  host = '127.0.0.1',
  port = 0,
  tls?: { key: string; cert: string },
): Promise<{ server: Server; origin: string }> {
  const server: Server = tls ? createHttpsServer(tls) : createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server, origin: `${tls ? 'https' : 'http'}://${hostPart}:${actual}` };
}

export interface StandaloneIdpOptions {
  users?: DevUser[];
  clients: ClientMetadata[];
  /** Default true: login then consent, as in the project's end-to-end tests. */
  consent?: boolean;
  host?: string;
  port?: number;
  issuerPath?: string;
  ttl?: DevIdpTtl;
  cookiePrefix?: string;
  logger?: boolean;
  /** Serve over HTTPS with this PEM key and certificate (tests of outbound TLS). */
  tls?: { key: string; cert: string };
}

export interface StandaloneIdp {
  issuer: string;
  origin: string;
  provider: Provider;
  users: readonly DevUser[];
  close(): Promise<void>;
}

/** The dev IdP on its own Fastify server: for tests and for the demo. */
export async function startStandaloneIdp(opts: StandaloneIdpOptions): Promise<StandaloneIdp> {
  const { server, origin } = await listenFirst(opts.host ?? '127.0.0.1', opts.port ?? 0, opts.tls);
  // `issuerPath: '/'` keeps the trailing slash (an Auth0-style issuer); '' is the bare origin.
  const issuer =
    opts.issuerPath === '/' ? `${origin}/` : `${origin}${normalizePrefix(opts.issuerPath ?? '/oauth2/default')}`;
  const users = opts.users ?? DEFAULT_DEV_USERS.map((u) => ({ ...u, groups: [...u.groups] }));
  let provider: Provider | undefined;
  const app = Fastify({
    logger: opts.logger ?? false,
    serverFactory: (handler) => server.on('request', handler),
  });
  try {
    await app.register(devIdpPlugin, {
      issuer,
      users,
      clients: opts.clients,
      consent: opts.consent ?? true,
      cookiePrefix: opts.cookiePrefix,
      ttl: opts.ttl,
      onProvider: (p) => (provider = p),
    });
    await app.ready();
  } catch (err) {
    server.close();
    throw err;
  }
  return {
    issuer,
    origin,
    provider: provider!,
    users,
    async close() {
      await app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
