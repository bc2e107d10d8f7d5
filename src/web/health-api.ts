/**
 * `GET /api/backends/:b/health`: `{backend, ok, detail}` from the backend's own status check, the source
 * /readyz reports from; cached briefly per backend. Registered inside the /api plugin (web/api.ts): its
 * principal check applies.
 */
import type { FastifyInstance } from 'fastify';
import type { Backend, BackendStatus } from '../backends/backend.js';
import { Errors } from '../errors.js';
import type { Live } from '../live.js';
import { backendDecision } from '../policy/engine.js';

const CACHE_MS = 5000;

export async function healthApi(app: FastifyInstance, opts: { live: Live }): Promise<void> {
  const cache = new WeakMap<Backend, { at: number; status: Promise<BackendStatus> }>();
  app.get<{ Params: { b: string } }>('/api/backends/:b/health', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const backend = opts.live.current.backends.get(req.params.b); // 404 for an unknown backend
    if (!backendDecision(req.principal!, backend.config).allow)
      throw new Errors.FORBIDDEN(`you may not use backend "${backend.name}"`);
    let held = cache.get(backend);
    if (!held || Date.now() - held.at > CACHE_MS) {
      held = { at: Date.now(), status: backend.status().catch((e: Error) => ({ ok: false, detail: e.message })) };
      cache.set(backend, held);
    }
    const { ok, detail } = await held.status;
    return { backend: backend.name, ok, detail: detail ?? null };
  });
}
