// The HTTP version bridge's upstream sessions over their life, as the 2025 server (the SDK's
// streamable HTTP transport) sees them: ended after `http.idleTimeout`, at logout (that user's
// only), and at shutdown (DELETE); a GET stream the server drops is reopened; a session the
// server forgot (404) is replaced once, transparently; and whether a backend speaks 2025 or
// 2026-07-28 is found again after it failed, both ways.
import t from 'tap';
import { createHash } from 'node:crypto';
import { startProxy, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { sseEvents, statelessClient, STATELESS as V } from '../helpers/stateless-client.js';
import { startSessionServer } from '../helpers/session-server.js';
import { startStatelessServer } from '../helpers/stateless-server.js';
import { freePort } from '../helpers/ports.js';
import { recordSession, sealSessionCookie, sessionUser } from '../helpers/seal-cookie.js';
import { logoutThroughProxy } from '../helpers/session-client.js';
import { MemoryStore } from '../../src/store/memory.js';

const KEYS = { alice: 'lifecycle-alice-key', bob: 'lifecycle-bob-key' } as const;
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const apiKeys = Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha(key), subject: name }));
const meta = () => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
});

const server = await startSessionServer();
t.teardown(() => server.close());
const movingPort = await freePort();
let moving: { close(): Promise<void> } = await startSessionServer(movingPort);
t.teardown(() => moving.close());
const store = new MemoryStore();
const pinned = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  http: { url: server.url, transport: 'streamable', protocol: '2025', ...extra },
});
const doc = {
  apiKeys,
  devIdp: { enabled: true },
  backends: [
    pinned('old'),
    pinned('brief', { idleTimeout: '1s' }),
    { name: 'moving', http: { url: `http://127.0.0.1:${movingPort}/mcp`, transport: 'streamable' } },
  ],
};
const proxy = await startProxy(doc, { store });
t.teardown(() => proxy.close());

const client = statelessClient(() => proxy.url);
const auth = (who: keyof typeof KEYS | { cookie: string }): Record<string, string> =>
  typeof who === 'string' ? { 'x-api-key': KEYS[who] } : { cookie: who.cookie };
const call = (backend: string, who: Parameters<typeof auth>[0], method: string, params: Record<string, unknown> = {}) =>
  client.call(backend, auth(who), method, { ...params, _meta: meta() });
const echo = (backend: string, who: Parameters<typeof auth>[0], text: string) =>
  call(backend, who, 'tools/call', { name: 'echo', arguments: { text } });
const sessionOf = (user: string, from = 0) => server.opened.slice(from).find((o) => o.user === user)?.id;

async function cookieFor(sub: string) {
  const user = sessionUser(sub);
  await recordSession(store, user);
  return { cookie: `mcp_proxy_session=${encodeURIComponent(await sealSessionCookie(TEST_SESSION_KEY, user))}` };
}

t.test(
  'an idle upstream session ends after http.idleTimeout (DELETE), and the next request opens another',
  async (t) => {
    const from = server.opened.length;
    const r = await echo('brief', 'alice', 'one');
    t.equal(r.status, 200);
    const sid = sessionOf('alice', from);
    t.ok(sid, 'the bridge initialized a session');
    t.equal(await server.next('delete', sid), sid, 'DELETEd once idle');
    const again = await echo('brief', 'alice', 'two');
    t.equal(again.status, 200);
    t.same(again.body.result.content, [{ type: 'text', text: 'two' }]);
    const fresh = sessionOf('alice', from + 1);
    t.ok(fresh && fresh !== sid, 'a new session');
  },
);

t.test("logout ends that user's upstream session only", async (t) => {
  const alice = await cookieFor('alice');
  const bob = await cookieFor('bob');
  const from = server.opened.length;
  t.equal((await echo('old', alice, 'a')).status, 200);
  t.equal((await echo('old', bob, 'b')).status, 200);
  t.equal((await echo('old', 'alice', 'key')).status, 200, 'an API key whose subject is also alice');
  const opened = server.opened.slice(from);
  t.equal(opened.length, 3, 'three principals, three upstream sessions');
  const [aliceSid, bobSid, keySid] = opened.map((o) => o.id);
  const gone = server.next('delete', aliceSid);
  const out = await logoutThroughProxy(proxy.url, alice.cookie, { everywhere: true });
  t.equal(out.status, 200);
  await gone;
  t.notOk(server.deleted.includes(bobSid!), "bob's session stays");
  t.notOk(server.deleted.includes(keySid!), "the API key's session stays (another principal)");
  const before = server.opened.length;
  t.equal((await echo('old', bob, 'b2')).status, 200);
  t.equal((await echo('old', 'alice', 'k2')).status, 200);
  t.equal(server.opened.length, before, 'no new session for them');
  t.ok(server.posts.some((p) => p.session === bobSid && p.method === 'tools/call' && p.status === 200));
});

t.test('a GET stream the server drops is reopened: the session and its notifications go on', async (t) => {
  const from = server.opened.length;
  t.equal((await echo('old', 'bob', 'x')).status, 200);
  const sid = sessionOf('bob', from)!;
  t.ok(sid, "bob's API key got a session of its own");
  if (!server.gets.includes(sid)) await server.next('get', sid);
  const res = await client.post('old', auth('bob'), 'subscriptions/listen', {
    _meta: meta(),
    notifications: { toolsListChanged: true },
  });
  t.equal(res.status, 200);
  const reopened = server.next('get', sid);
  server.dropStream(sid);
  t.equal(await reopened, sid, 'the bridge opened the GET stream again, same session');
  const got = await sseEvents(res, 2, async (n) => {
    if (n === 1) t.equal((await call('old', 'bob', 'tools/call', { name: 'grow', arguments: {} })).status, 200);
  });
  t.equal(got[1].method, 'notifications/tools/list_changed', 'a notification on the reopened stream arrived');
  t.equal(server.opened.length, from + 1, 'no new session');
});

t.test('a session the server forgot (404) is replaced transparently, once', async (t) => {
  t.equal((await echo('old', 'alice', 'warm')).status, 200);
  const sid = server.posts.findLast((p) => p.user === 'alice' && p.session && p.method === 'tools/call')!.session!;
  server.forget(sid);
  const from = server.opened.length;
  const r = await echo('old', 'alice', 'after');
  t.equal(r.status, 200, JSON.stringify(r.body));
  t.same(r.body.result.content, [{ type: 'text', text: 'after' }]);
  t.equal(server.opened.length, from + 1, 'one new session');
  const fresh = server.opened[from]!.id;
  const calls = server.posts.filter((p) => p.method === 'tools/call' && p.user === 'alice').slice(-2);
  t.same(
    calls.map((p) => [p.session, p.status]),
    [
      [sid, 404],
      [fresh, 200],
    ],
    'sent to the forgotten session, then once to the new one',
  );

  // A listen stream's 2025 resource subscription is made again on the new session.
  const carol = await cookieFor('carol');
  t.equal((await echo('old', carol, 'hi')).status, 200);
  const carolSid = sessionOf('carol')!;
  const subscribed = server.next('subscribe', carolSid);
  const listen = await client.post('old', auth(carol), 'subscriptions/listen', {
    _meta: meta(),
    notifications: { resourceSubscriptions: ['test://doc'] },
  });
  const reader = listen.body!.getReader();
  let head = '';
  while (!head.includes('\n\n')) head += new TextDecoder().decode((await reader.read()).value);
  t.match(head, /notifications\/subscriptions\/acknowledged.*test:\/\/doc/, 'the listen stream is open');
  await subscribed;
  server.forget(carolSid);
  t.equal((await echo('old', carol, 'again')).status, 200);
  const renewed = sessionOf('carol', server.opened.length - 1)!;
  t.not(renewed, carolSid);
  if (!server.subscribed.includes(renewed)) await server.next('subscribe', renewed);
  t.ok(server.subscribed.includes(renewed), 'subscribed again on the new session');
  await reader.cancel();

  server.refuse = 'tools/call';
  t.teardown(() => void (server.refuse = undefined));
  const before = server.opened.length;
  const posted = server.posts.length;
  const failed = await echo('old', 'alice', 'refused');
  t.ok(failed.body.error, 'the client gets an error');
  t.equal(server.opened.length, before + 1, 'the session was replaced once');
  t.equal(server.posts.slice(posted).filter((p) => p.method === 'tools/call').length, 2, 'the call was sent twice');
});

t.test('shutdown DELETEs every upstream session', async (t) => {
  const other = await startProxy({ apiKeys, backends: [pinned('old')] });
  const from = server.opened.length;
  const c = statelessClient(() => other.url);
  for (const who of ['alice', 'bob'] as const)
    t.equal(
      (await c.call('old', auth(who), 'tools/call', { name: 'echo', arguments: { text: who }, _meta: meta() })).status,
      200,
    );
  const ids = server.opened.slice(from).map((o) => o.id);
  t.equal(ids.length, 2);
  const deletes = Promise.all(ids.map((id) => server.next('delete', id)));
  await other.close();
  t.same((await deletes).sort(), [...ids].sort(), 'both sessions DELETEd');
});

t.test('a 2025 server replaced by a 2026-07-28 one is found again after the failure, and back', async (t) => {
  const list = () => call('moving', 'alice', 'tools/list');
  const first = await list();
  t.equal(first.status, 200);
  t.equal(first.body.result.resultType, 'complete', 'bridged');
  await moving.close();
  const down = await list();
  t.ok(down.status >= 500, `the server is gone: ${down.status}`);
  const modern = await startStatelessServer(movingPort);
  moving = modern;
  const native = await list();
  t.equal(native.status, 200);
  t.same(
    modern.seen.map((s) => [s.method, s.headers['mcp-protocol-version']]),
    [['tools/list', V]],
    'found 2026-07-28-native: forwarded as it is',
  );
  t.same(native.body.result.tools.map((x: { name: string }) => x.name).slice(0, 2), ['echo', 'whoami']);

  await modern.close();
  t.ok((await list()).status >= 500, 'gone again');
  const old = await startSessionServer(movingPort);
  moving = old;
  const back = await list();
  t.equal(back.status, 200);
  t.equal(old.opened.length, 1, 'found 2025 again: bridged over a new session');
  t.same(
    back.body.result.tools.map((x: { name: string }) => x.name),
    ['echo', 'grow'],
  );
});
