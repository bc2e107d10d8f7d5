/**
 * Messages between replicas through the shared store (logout events): on a real Redis (pub/sub)
 * and a real PostgreSQL (LISTEN/NOTIFY), what one store publishes reaches a subscriber on
 * another connection with the same keys, sealed; a publisher with other keys is ignored; after
 * unsubscribing nothing more arrives.
 */
import t from 'tap';
import { PostgresStore } from '../../src/store/postgres.js';
import { RedisStore } from '../../src/store/redis.js';
import { Sealer } from '../../src/store/sealed.js';
import type { Store } from '../../src/store/store.js';
import { startPostgres, startRedis } from '../helpers/db-servers.js';
import { OTHER_SESSION_KEY, TEST_SESSION_KEY } from '../helpers/proxy.js';

const redis = await startRedis();
t.teardown(() => redis.close());
const postgres = await startPostgres();
t.teardown(() => postgres.close());

const kinds: Array<[string, (key: string) => Store]> = [
  ['redis', (key) => new RedisStore(redis.url, new Sealer([key]))],
  ['postgres', (key) => new PostgresStore(postgres.url, new Sealer([key]))],
];

for (const [name, make] of kinds) {
  t.test(`${name}: a message published by one replica reaches the others, sealed`, async (t) => {
    const [a, b, stranger] = [make(TEST_SESSION_KEY), make(TEST_SESSION_KEY), make(OTHER_SESSION_KEY)];
    t.teardown(() => Promise.all([a.close(), b.close(), stranger.close()]));
    const got: unknown[] = [];
    let arrived: () => void = () => undefined;
    const stop = await b.subscribe!('logout', (m) => {
      got.push(m);
      arrived();
    });
    const next = () => new Promise<void>((r) => (arrived = r));
    const first = next();
    await stranger.publish!('logout', { user: 'forged' });
    await a.publish!('other-channel', { user: 'elsewhere' });
    await a.publish!('logout', { user: 'alice' });
    await first;
    t.same(got, [{ user: 'alice' }], 'only the message sealed with our keys, on our channel');
    await stop();
    await a.publish!('logout', { user: 'late' });
    // A round trip through a second subscriber shows the late message was delivered, yet not to the stopped one.
    const witness: unknown[] = [];
    let seen: () => void = () => undefined;
    const stopWitness = await b.subscribe!('logout', (m) => {
      witness.push(m);
      seen();
    });
    const third = new Promise<void>((r) => (seen = r));
    await a.publish!('logout', { user: 'after' });
    await third;
    await stopWitness();
    t.same(got, [{ user: 'alice' }], 'nothing arrives after unsubscribing');
    t.same(witness, [{ user: 'after' }]);
  });
}
