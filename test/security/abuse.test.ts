/**
 * Floods of the open endpoints are rate-limited per client address once `rateLimit` is set
 * (off unless configured), and the in-process store cannot grow without bound
 * whatever gets through, limits or not.
 */
import t from 'tap';
import { MemoryStore } from '../../src/store/memory.js';
import { startProxy } from '../helpers/proxy.js';

const LIMITS = {
  login: { max: 120, window: '1m' },
  register: { max: 30, window: '1m' },
  token: { max: 300, window: '1m' },
  device: { max: 20, window: '1m' },
};
const proxy = await startProxy({
  devIdp: { enabled: true },
  rateLimit: LIMITS,
  backends: [{ name: 'b', http: { url: 'http://127.0.0.1:9/mcp' } }],
});
t.teardown(() => proxy.close());
const meta = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as Record<
  string,
  string
>;

async function flood(n: number, send: () => Promise<Response>) {
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < n; i++) {
    const res = await send();
    statuses.push(res.status);
    if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
    await res.arrayBuffer();
  }
  return { statuses, retryAfter };
}

t.test('dynamic client registration: 30 a minute per address, then 429 with Retry-After', async (t) => {
  const { statuses, retryAfter } = await flood(40, () =>
    fetch(meta.registration_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }),
    }),
  );
  t.same(statuses.slice(0, 30), Array(30).fill(201), 'the first 30 are registered');
  t.same(statuses.slice(30), Array(10).fill(429), 'the rest are refused');
  t.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
});

t.test('login: 120 a minute per address', async (t) => {
  const { statuses } = await flood(125, () => fetch(`${proxy.url}/oauth/login`, { redirect: 'manual' }));
  t.equal(statuses.filter((s) => s === 302).length, 120);
  t.same(statuses.slice(120), Array(5).fill(429));
});

t.test('token endpoint: 300 a minute per address', async (t) => {
  const { statuses } = await flood(305, () =>
    fetch(meta.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x&client_id=y',
    }),
  );
  t.equal(statuses.filter((s) => s === 429).length, 5, 'the 301st call on is refused');
  t.ok(
    statuses.slice(0, 300).every((s) => s === 400 || s === 401),
    'the others got OAuth errors (bad code), not 5xx',
  );
});

t.test('device authorization: 20 a minute per address', async (t) => {
  const { statuses } = await flood(25, () =>
    fetch(meta.device_authorization_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_id=nobody&scope=mcp',
    }),
  );
  t.ok(
    statuses.slice(0, 20).every((s) => s === 400 || s === 401),
    'the first 20 got OAuth errors (unknown client), not 5xx',
  );
  t.same(statuses.slice(20), Array(5).fill(429));
});

t.test('without rateLimit in the config, nothing is limited (off unless configured)', async (t) => {
  const open = await startProxy({
    devIdp: { enabled: true },
    backends: [{ name: 'b', http: { url: 'http://127.0.0.1:9/mcp' } }],
  });
  t.teardown(() => open.close());
  const { statuses } = await flood(150, () => fetch(`${open.url}/oauth/login`, { redirect: 'manual' }));
  t.same(new Set(statuses), new Set([302]));
});

t.test('the in-process store is bounded: the oldest entries go first', async (t) => {
  const store = new MemoryStore(1000);
  for (let i = 0; i < 5000; i++) await store.set(`k${i}`, { i, pad: 'x'.repeat(100) }, 60_000);
  t.equal(await store.get('k0'), undefined, 'the oldest entry was dropped');
  t.same(await store.get('k4999'), { i: 4999, pad: 'x'.repeat(100) });
  let kept = 0;
  for (let i = 0; i < 5000; i++) if (await store.get(`k${i}`)) kept++;
  t.equal(kept, 1000, 'never more than its bound');
});
