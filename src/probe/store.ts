/** The shared store answers: Redis PING (every URL form the store takes), PostgreSQL SELECT 1. */
import pg from 'pg';
import type { Config } from '../config/load.js';
import { redisClient } from '../store/redis.js';
import { ProbeFailure } from './cause.js';
import { shownUrl } from './http.js';
import type { Probe } from './types.js';

export function storeProbes(config: Config): Probe[] {
  const { kind, url } = config.store;
  if (kind === 'memory' || !url) return [];
  return [
    { what: `store ${kind}`, target: shownUrl(url), run: kind === 'redis' ? () => ping(url) : () => select1(url) },
  ];
}

async function ping(url: string): Promise<string> {
  const client = redisClient(url);
  let lastError: unknown;
  client.on('error', (e) => {
    lastError = e;
  });
  try {
    return await client.ping();
  } catch (e) {
    throw lastError ?? e;
  } finally {
    client.disconnect();
  }
}

async function select1(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 4000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query('SELECT 1 AS one');
    if (r.rows[0]?.one !== 1) throw new ProbeFailure('SELECT 1 did not answer 1');
    return 'SELECT 1';
  } finally {
    await client.end().catch(() => undefined);
  }
}
