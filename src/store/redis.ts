/**
 * Redis store (ioredis): `redis://` and `rediss://` (standalone), `redis+sentinel://h1:p1,h2:p2/<master>`
 * (Sentinel), `redis+cluster://h1:p1,h2:p2` (Cluster); a password in the URL is used for every
 * node. Values are sealed and keys hashed (sealed.ts); TTLs are Redis' own (PX). ioredis
 * reconnects by itself; while Redis is away a call fails within ~2 s so callers fail closed
 * instead of hanging. Replicas exchange sealed messages over pub/sub (logout events).
 */
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { SealedStore, type Sealer } from './sealed.js';

const PREFIX = 'mcp-oidc-proxy:';
const SUBSCRIBE_WAIT_MS = 2000;

export function redisClient(url: string): Redis | Cluster {
  const u = new URL(url);
  const auth: RedisOptions = {
    username: decodeURIComponent(u.username) || undefined,
    password: decodeURIComponent(u.password) || undefined,
  };
  // While Redis is away, a call waits at most one reconnection attempt (or 2 s), then fails.
  const common: RedisOptions = {
    ...auth,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (n) => Math.min(100 * n, 2000),
  };
  const hosts = () =>
    u.host.split(',').map((h) => ({
      host: h.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
      port: Number(/:(\d+)$/.exec(h)?.[1] ?? 6379),
    }));
  if (u.protocol === 'redis+sentinel:' || u.protocol === 'rediss+sentinel:') {
    const name = u.pathname.replace(/^\//, '').split('/')[0];
    if (!name) throw new Error('a redis+sentinel URL names the master: redis+sentinel://host:26379/mymaster');
    return new Redis({
      ...common,
      sentinels: hosts(),
      name,
      sentinelPassword: auth.password,
      ...(u.protocol.startsWith('rediss') ? { tls: {} } : {}),
    });
  }
  if (u.protocol === 'redis+cluster:' || u.protocol === 'rediss+cluster:') {
    return new Cluster(hosts(), {
      redisOptions: { ...common, ...(u.protocol.startsWith('rediss') ? { tls: {} } : {}) },
    });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`unsupported Redis URL scheme "${u.protocol}"`);
  return new Redis(url, common);
}

export class RedisStore extends SealedStore {
  readonly client: Redis | Cluster;

  constructor(url: string, sealer: Sealer) {
    super(sealer);
    this.client = redisClient(url);
    this.client.on('error', () => undefined); // state is reported by ready(); ioredis retries
  }

  async getRaw(key: string): Promise<string | undefined> {
    return (await this.client.get(PREFIX + key)) ?? undefined;
  }

  async setRaw(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(PREFIX + key, value, 'PX', ttlMs);
  }

  async deleteRaw(key: string): Promise<void> {
    await this.client.del(PREFIX + key);
  }

  async claimRaw(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(PREFIX + key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.client.publish(`${PREFIX}events:${channel}`, this.sealMessage(channel, message));
  }

  /**
   * On a connection of its own (a subscribed connection serves nothing else). It waits for Redis
   * as long as it takes and subscribes again after every reconnection; the first subscription is
   * awaited for at most SUBSCRIBE_WAIT_MS, so a proxy starting while Redis is away still starts.
   */
  async subscribe(channel: string, onMessage: (message: unknown) => void): Promise<() => Promise<void>> {
    const name = `${PREFIX}events:${channel}`;
    const sub =
      this.client instanceof Cluster ? this.client.duplicate() : this.client.duplicate({ maxRetriesPerRequest: null });
    sub.on('error', () => undefined);
    sub.on('message', (ch: string, raw: string) => {
      if (ch !== name) return;
      const m = this.openMessage(channel, raw);
      if (m !== undefined) onMessage(m);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      sub.subscribe(name).catch(() => undefined),
      new Promise((r) => (timer = setTimeout(r, SUBSCRIBE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    return async () => {
      await sub.quit().catch(() => sub.disconnect());
    };
  }

  async ready(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
