/**
 * `/healthz`: the process is alive. `/readyz`: config, keys and listeners are up (200); the
 * IdP and each backend are reported in the body but never make it fail (DESIGN §5).
 */
import type { FastifyInstance } from 'fastify';
import type { BackendRegistry } from '../backends/registry.js';
import type { UpstreamClient } from '../oidc/client.js';

const CACHE_MS = 5000;

export async function healthRoutes(app: FastifyInstance, opts: { backends: BackendRegistry; client?: UpstreamClient }) {
  let cached: { at: number; body: unknown } | undefined;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.body;
    const idp = opts.client
      ? await opts.client.get().then(
          () => ({ ok: true, issuer: opts.client!.settings.issuer }),
          () => ({ ok: false, issuer: opts.client!.settings.issuer, detail: opts.client!.lastError }),
        )
      : { ok: true, detail: 'no upstream IdP configured' };
    const entries = await Promise.all(opts.backends.all().map(async (b) => [b.name, await b.status()] as const));
    const body = { ready: true, idp, backends: Object.fromEntries(entries) };
    cached = { at: Date.now(), body };
    return body;
  });
}
