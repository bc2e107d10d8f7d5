/**
 * Rate limits (off unless configured), on @fastify/rate-limit's counters: in memory, or in
 * Redis when the store is Redis (every replica counts against one budget; while Redis is away
 * limits are not enforced rather than refusing everyone): per backend, keyed by user, API key
 * or tenant; and per client address on the unauthenticated endpoints `/oauth/login`,
 * registration and token. Over the limit: 429 with Retry-After (a JSON-RPC error body on `/mcp`).
 */
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { principalKey, type Principal } from '../identity/principal.js';

type Limit = { max: number; window: number; per?: 'user' | 'tenant' };
export type Limiter = (req: FastifyRequest, key: string) => Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    limiter(limit: Limit): Limiter;
  }
}

async function rateLimitPlugin(
  app: FastifyInstance,
  opts: { config: Config; paths: { register?: string; token?: string; device?: string }; redis?: Redis | Cluster },
) {
  await app.register(rateLimit, {
    global: false,
    ...(opts.redis ? { redis: opts.redis, nameSpace: 'mcp-oidc-proxy:rl:', skipOnError: true } : {}),
  });
  app.decorate('limiter', (limit: Limit): Limiter => {
    const keys = new WeakMap<FastifyRequest, string>();
    const check = app.createRateLimit({
      max: limit.max,
      timeWindow: limit.window,
      keyGenerator: (req) => keys.get(req) ?? req.ip,
    });
    return async (req, key) => {
      keys.set(req, key);
      const r = await check(req);
      if (!r.isAllowed && r.isExceeded) {
        req.log.info({ event: 'rate_limited', key }, 'rate limit reached');
        const err = new Errors.RATE_LIMITED() as Error & { headers?: Record<string, string> };
        err.headers = { 'retry-after': String(Math.max(1, r.ttlInSeconds)) };
        throw err;
      }
    };
  });
  const rl = opts.config.rateLimit;
  const byPath = new Map<string, Limiter>();
  if (rl?.login) byPath.set('/oauth/login', app.limiter(rl.login));
  if (rl?.register && opts.paths.register) byPath.set(opts.paths.register, app.limiter(rl.register));
  if (rl?.token && opts.paths.token) byPath.set(opts.paths.token, app.limiter(rl.token));
  if (rl?.device && opts.paths.device) byPath.set(opts.paths.device, app.limiter(rl.device));
  if (byPath.size) {
    app.addHook('onRequest', async (req) => {
      const path = req.url.split('?')[0]!;
      const limiter = byPath.get(path);
      if (limiter && req.method !== 'OPTIONS') await limiter(req, `${path}:${req.ip}`);
    });
  }
}

export default fp(rateLimitPlugin, { name: 'rate-limit' });

/** The key a backend limit counts against. */
export function rateKey(backend: string, per: 'user' | 'tenant', p: Principal): string {
  if (per === 'tenant' && p.tenant) return `${backend}:tenant:${p.tenant}`;
  return `${backend}:user:${principalKey(p)}`;
}
