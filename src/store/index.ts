/** The store factory: one place that picks the implementation from config. */
import type { Config } from '../config/load.js';
import { MemoryStore } from './memory.js';
import { ObservedStore } from './observed.js';
import { PostgresStore } from './postgres.js';
import { RedisStore } from './redis.js';
import { Sealer } from './sealed.js';
import type { Store } from './store.js';

export type { Store } from './store.js';

/** `secrets`: key material for encryption at rest (session.keys), current first. */
export function createStore(config: Config['store'], secrets: readonly string[]): Store {
  if (config.kind === 'redis') return new RedisStore(config.url!, new Sealer(secrets));
  if (config.kind === 'postgres') return new PostgresStore(config.url!, new Sealer(secrets));
  return new MemoryStore();
}

/** The Redis connection behind a Redis store (shared rate-limit counters use it), else undefined. */
export function redisOf(store: Store): RedisStore['client'] | undefined {
  if (store instanceof ObservedStore) return redisOf(store.inner);
  return store instanceof RedisStore ? store.client : undefined;
}
