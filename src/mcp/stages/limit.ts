/** Stage: the backend's rate limit (`rateLimit` in its config), keyed by user, API key or tenant; over it: 429. */
import type { FastifyRequest } from 'fastify';
import type { BackendConfig } from '../../config/schema.js';
import type { Principal } from '../../identity/principal.js';
import { rateKey, type Limiter } from '../../security/rate-limit.js';

type Limit = NonNullable<BackendConfig['rateLimit']>;

/**
 * The stage, given how limiters are made. One limiter per `rateLimit` block: a reload that
 * changes the block gets a new one. Returns undefined (nothing to wait for) when the backend has no limit.
 */
export function rateLimitStage(makeLimiter: (limit: Limit) => Limiter) {
  const limiters = new WeakMap<Limit, Limiter>();
  return function limit(
    req: FastifyRequest,
    backend: { name: string; config: BackendConfig },
    principal: Principal,
  ): Promise<void> | undefined {
    const block = backend.config.rateLimit;
    if (!block) return undefined;
    let limiter = limiters.get(block);
    if (!limiter) limiters.set(block, (limiter = makeLimiter(block)));
    return limiter(req, rateKey(backend.name, block.per, principal));
  };
}
