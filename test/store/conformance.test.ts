/**
 * One conformance suite for every Store (the pattern of oauth2-proxy's session store tests):
 * memory, Redis and PostgreSQL — the last two real servers on loopback. Round trips, TTLs,
 * deletes, awkward keys, atomic claims, a second client seeing the first one's writes (what replicas rely
 * on), secrets never stored in the clear, and key rotation.
 */
import t from 'tap';
import { Redis } from 'ioredis';
import pg from 'pg';
import { MemoryStore } from '../../src/store/memory.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { RedisStore } from '../../src/store/redis.js';
import { Sealer } from '../../src/store/sealed.js';
import type { Store } from '../../src/store/store.js';
import { startPostgres, startRedis } from '../helpers/db-servers.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');
const SECRET = 'refresh-token-value-that-must-not-leak';

const redis = await startRedis();
const postgres = await startPostgres();
t.teardown(async () => {
  await redis.close();
  await postgres.close();
});

interface Kind {
  name: string;
  make(keys?: string[]): Store;
  /** Every stored key and value, as the database holds them (empty for memory). */
  dump(): Promise<string>;
}

const kinds: Kind[] = [
  { name: 'memory', make: () => new MemoryStore(), dump: async () => '' },
  {
    name: 'redis',
    make: (keys = [KEY_A]) => new RedisStore(redis.url, new Sealer(keys)),
    dump: async () => {
      const c = new Redis(redis.url);
      const keys = await c.keys('*');
      const values = keys.length ? await c.mget(keys) : [];
      c.disconnect();
      return JSON.stringify([keys, values]);
    },
  },
  {
    name: 'postgres',
    make: (keys = [KEY_A]) => new PostgresStore(postgres.url, new Sealer(keys)),
    dump: async () => {
      const c = new pg.Client(postgres.url);
      await c.connect();
      const { rows } = await c.query('SELECT key, value FROM mcp_proxy_store');
      await c.end();
      return JSON.stringify(rows);
    },
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of kinds) {
  t.test(`${kind.name} store`, async (t) => {
    const store = kind.make();
    t.teardown(() => store.close());

    t.test('missing keys are undefined; values round-trip as JSON', async (t) => {
      t.equal(await store.get('nope'), undefined);
      const value = {
        s: 'text',
        n: 42,
        f: 1.5,
        b: true,
        nil: null,
        list: [1, 'two', { three: 3 }],
        nested: { deep: { er: ['x'] } },
        unicode: 'ünïcødé ✓',
      };
      await store.set('obj', value, 60_000);
      t.same(await store.get('obj'), value);
      await store.set('str', 'plain string', 60_000);
      t.equal(await store.get('str'), 'plain string');
      await store.set('arr', ['a', 'b'], 60_000);
      t.same(await store.get('arr'), ['a', 'b']);
    });

    t.test('overwrite and delete', async (t) => {
      await store.set('k', 1, 60_000);
      await store.set('k', 2, 60_000);
      t.equal(await store.get('k'), 2);
      await store.delete('k');
      t.equal(await store.get('k'), undefined);
      await store.delete('never-set'); // no error
    });

    t.test('TTLs are honoured', async (t) => {
      await store.set('short', 'soon gone', 300);
      await store.set('long', 'stays', 60_000);
      t.equal(await store.get('short'), 'soon gone');
      await sleep(700);
      t.equal(await store.get('short'), undefined, 'expired');
      t.equal(await store.get('long'), 'stays');
    });

    t.test('awkward keys stay distinct', async (t) => {
      const keys = [
        'as:grant:a',
        'as:grant:a ',
        'AS:GRANT:A',
        'ключ:🔑',
        'x'.repeat(2000),
        "quote'; DROP TABLE x;--",
        '',
      ];
      for (const [i, k] of keys.entries()) await store.set(k, i, 60_000);
      for (const [i, k] of keys.entries()) t.equal(await store.get(k), i, `key #${i}`);
    });

    t.test('many writes at once', async (t) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.set(`bulk:${i}`, { i }, 60_000)));
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => store.get<{ i: number }>(`bulk:${i}`)));
      t.same(
        got.map((g) => g?.i),
        Array.from({ length: 200 }, (_, i) => i),
      );
    });

    t.test('claim: of many at once exactly one wins, until the claim expires', async (t) => {
      const won = await Promise.all(Array.from({ length: 20 }, () => store.claim('once', 400)));
      t.equal(won.filter(Boolean).length, 1, 'one winner');
      t.equal(await store.claim('once', 400), false, 'still claimed');
      await store.set('taken', 'a value', 60_000);
      t.equal(await store.claim('taken', 400), false, 'a key set by set() counts as claimed');
      await sleep(700);
      t.equal(await store.claim('once', 60_000), true, 'claimable again once expired');
    });

    if (kind.name === 'memory') return;

    t.test('a second client sees the first one’s writes (replicas share state)', async (t) => {
      await store.set('shared', { from: 'replica A' }, 60_000);
      const other = kind.make();
      t.same(await other.get('shared'), { from: 'replica A' });
      await other.delete('shared');
      t.equal(await store.get('shared'), undefined);
      await other.close();
    });

    t.test('secrets are not stored in the clear: neither as a key nor as a value', async (t) => {
      await store.set(`as:RefreshToken:${SECRET}`, { token: SECRET }, 60_000);
      const raw = await kind.dump();
      t.ok(raw.length > 0, 'the database holds something');
      t.notMatch(raw, SECRET);
      t.notMatch(raw, 'RefreshToken');
    });

    t.test('key rotation: values written under the old key still read; a store without it reads nothing', async (t) => {
      await store.set('rotate-me', 'old key value', 60_000);
      const rotated = kind.make([KEY_B, KEY_A]);
      t.equal(await rotated.get('rotate-me'), 'old key value', 'read after rotation');
      await rotated.set('rotate-me', 'new key value', 60_000);
      t.equal(await rotated.get('rotate-me'), 'new key value');
      const stranger = kind.make([KEY_B]);
      t.equal(await stranger.get('obj'), undefined, 'sealed under a key it does not have');
      await rotated.close();
      await stranger.close();
    });
  });
}
