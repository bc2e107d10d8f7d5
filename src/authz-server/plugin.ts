/**
 * Mounts the authorization server at the proxy's root (metadata, /reg, /auth, /token, …),
 * its interaction pages, CORS for browser clients on registration, and keeps the
 * replicas' grant confirmations current from the provider's events.
 */
import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import { mountProvider } from '../lib/oidc-provider-mount.js';
import type { Store } from '../store/index.js';
import type { Principal } from '../identity/principal.js';
import type { Metrics } from '../observability/metrics.js';
import { asInteractions } from './interactions.js';
import { bindSessionToProxyUser, noteBrowserUser } from './browser-session.js';

export interface AsPluginOptions {
  provider: Provider;
  store: Store;
  /** A grant was deleted (revocation, reuse detection): every replica forgets it. */
  onGrantRevoked(grantId: string): void;
  rememberMs: number;
  /** Dynamic Client Registration is on (`authorizationServer.registration: open`). */
  registration: boolean;
  /** A grant was given or extended by a browser user: keep their upstream login with it. */
  onGrant?(grantId: string, p: Principal): Promise<void>;
  /** Counts tokens issued, refreshed and revoked. */
  metrics?: Metrics;
}

export async function authorizationServerPlugin(app: FastifyInstance, opts: AsPluginOptions): Promise<void> {
  const { provider } = opts;
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => opts.onGrantRevoked(grantId));
  provider.on('server_error', (_ctx: unknown, err: Error) =>
    app.log.error({ event: 'as.server_error', err }, 'authorization server error'),
  );
  opts.metrics?.watchTokens(provider);
  // Dynamic Client Registration from browser-based clients (MCP Inspector): oidc-provider has no CORS there.
  const registration = opts.registration ? provider.pathFor('registration') : undefined;
  // Host and X-Forwarded-* are pinned to the issuer by the mount (src/lib/oidc-provider-mount.ts).
  provider.use(async (ctx, next) => {
    if (registration && ctx.path === registration && ctx.get('origin')) {
      ctx.set('access-control-allow-origin', ctx.get('origin'));
      ctx.set('vary', 'origin');
      if (ctx.method === 'OPTIONS') {
        ctx.set('access-control-allow-methods', 'POST');
        ctx.set('access-control-allow-headers', 'content-type, authorization');
        ctx.set('access-control-max-age', '3600');
        ctx.status = 204;
        return;
      }
    }
    await next();
  });
  // The provider's session is used only for the proxy's browser user of the same request (browser-session.ts).
  app.addHook('preHandler', async (req) => noteBrowserUser(req));
  bindSessionToProxyUser(provider);
  await mountProvider(app, { provider });
  await app.register(asInteractions, {
    provider,
    store: opts.store,
    rememberMs: opts.rememberMs,
    onGrant: opts.onGrant,
  });
}
