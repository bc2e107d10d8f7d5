// MCP 2026-07-28 requests (raw fetch) to a 2024-11-05 HTTP+SSE server (the SDK's
// SSEServerTransport) through the version bridge over that transport: discovery, lists, calls
// with progress, an elicitation as an input-required result, subscriptions/listen, one upstream
// SSE session per principal with each request's identity, ended at logout, when idle and at
// shutdown; `auto` finds the transport from a stateless request too.
import t from 'tap';
import { createHash } from 'node:crypto';
import { startProxy, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { sseEvents, statelessClient, STATELESS as V } from '../helpers/stateless-client.js';
import { type LegacySession, startLegacySseServer } from '../helpers/legacy-sse-server.js';
import { recordSession, sealSessionCookie, sessionUser } from '../helpers/seal-cookie.js';
import { logoutThroughProxy } from '../helpers/session-client.js';
import { MemoryStore } from '../../src/store/memory.js';
import { once } from 'node:events';

const KEYS = { alice: 'sse-bridge-alice-key', bob: 'sse-bridge-bob-key' } as const;
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const apiKeys = Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha(key), subject: name }));
const meta = (caps: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': caps,
});

const server = await startLegacySseServer(true);
t.teardown(() => server.close());
const store = new MemoryStore();
const doc = {
  apiKeys,
  devIdp: { enabled: true },
  backends: [
    { name: 'legacy', http: { url: server.url, transport: 'sse' } },
    { name: 'found', http: { url: server.url } },
    { name: 'brief', http: { url: server.url, transport: 'sse', idleTimeout: '1s' } },
    { name: 'again', http: { url: server.url, transport: 'sse' } },
  ],
};
const proxy = await startProxy(doc, { store });
t.teardown(() => proxy.close());

type Who = keyof typeof KEYS | { cookie: string };
const auth = (who: Who): Record<string, string> =>
  typeof who === 'string' ? { 'x-api-key': KEYS[who] } : { cookie: who.cookie };
const client = statelessClient(() => proxy.url);
const call = (backend: string, who: Who, method: string, params: Record<string, unknown> = {}, caps = {}) =>
  client.call(backend, auth(who), method, { ...params, _meta: meta(caps) });
const tool = (backend: string, who: Who, name: string, extra: Record<string, unknown> = {}, caps = {}) =>
  call(backend, who, 'tools/call', { name, arguments: {}, ...extra }, caps);
const opened = () => once(server.events, 'open') as Promise<[LegacySession]>;
const userOf = (s: LegacySession) => s.headers['x-forwarded-user'];

t.test('server/discover opens one upstream HTTP+SSE session, initialized by the bridge', async (t) => {
  const open = opened();
  const r = await call('legacy', 'alice', 'server/discover');
  t.equal(r.status, 200);
  t.same(r.body.result.supportedVersions, [V]);
  t.equal(r.body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'legacy-sse');
  const [session] = await open;
  t.equal(userOf(session), 'alice', 'the stream was opened with the identity headers');
  t.equal(typeof session.headers['x-mcp-proxy-assertion'], 'string');
  t.equal(session.headers['x-api-key'], undefined, 'the client credential never reaches the server');
});

t.test('tools/list and tools/call, with resultType; progress by token', async (t) => {
  const list = await call('legacy', 'alice', 'tools/list');
  t.equal(list.status, 200);
  t.same(
    list.body.result.tools.map((x: { name: string }) => x.name),
    ['whoami', 'count', 'ask', 'secret', 'name', 'grow'],
  );
  t.equal(list.body.result.resultType, 'complete');
  const who = await tool('legacy', 'alice', 'whoami');
  t.equal(who.body.result.resultType, 'complete');
  t.equal(JSON.parse(who.body.result.content[0].text).user, 'alice');
  const res = await client.post('legacy', auth('alice'), 'tools/call', {
    name: 'count',
    arguments: { n: 2 },
    _meta: { ...meta(), progressToken: 'p1' },
  });
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const got = await sseEvents(res, 3);
  t.same(
    got.slice(0, 2).map((m) => [m.method, m.params.progressToken, m.params.progress]),
    [
      ['notifications/progress', 'p1', 1],
      ['notifications/progress', 'p1', 2],
    ],
  );
  t.equal(got[2].result.content[0].text, 'counted to 2');
});

t.test('an elicitation becomes an input-required result, resumed with requestState', async (t) => {
  const caps = { elicitation: {} };
  const first = await tool('legacy', 'alice', 'name', {}, caps);
  const r1 = first.body.result;
  t.equal(r1?.resultType, 'input_required', JSON.stringify(first.body));
  const [k] = Object.keys(r1.inputRequests);
  t.equal(r1.inputRequests[k!].method, 'elicitation/create');
  t.equal(r1.inputRequests[k!].params.message, 'Name?');
  const done = await tool(
    'legacy',
    'alice',
    'name',
    { requestState: r1.requestState, inputResponses: { [k!]: { action: 'accept', content: { name: 'Ada' } } } },
    caps,
  );
  t.equal(done.status, 200);
  t.same(done.body.result.content, [{ type: 'text', text: 'hello Ada' }]);
  const refused = await tool('legacy', 'alice', 'name');
  t.equal(refused.status, 400, 'no elicitation capability declared');
  t.equal(refused.body.error.code, -32021);
});

t.test('subscriptions/listen: acknowledged, then the list change', async (t) => {
  const res = await client.post('legacy', auth('alice'), 'subscriptions/listen', {
    _meta: meta(),
    notifications: { toolsListChanged: true },
  });
  t.equal(res.status, 200);
  const got = await sseEvents(res, 2, async (n) => {
    if (n === 1) t.equal((await tool('legacy', 'alice', 'grow')).status, 200);
  });
  t.equal(got[0].method, 'notifications/subscriptions/acknowledged');
  t.same(got[0].params.notifications, { toolsListChanged: true });
  t.equal(got[1].method, 'notifications/tools/list_changed');
});

t.test('two principals: an upstream session each, each POST with its own identity', async (t) => {
  const open = opened();
  const b = await tool('legacy', 'bob', 'whoami');
  t.equal(JSON.parse(b.body.result.content[0].text).user, 'bob');
  const [bobSession] = await open;
  t.equal(userOf(bobSession), 'bob');
  const a = await tool('legacy', 'alice', 'whoami');
  t.equal(JSON.parse(a.body.result.content[0].text).user, 'alice');
  const byUser = new Map<string, Set<string>>();
  server.postedTo.forEach((sid, i) => {
    const user = String(server.posts[i]!['x-forwarded-user']);
    byUser.set(user, (byUser.get(user) ?? new Set()).add(sid));
  });
  t.same([...byUser.get('bob')!], [bobSession.id], "bob's messages all went to his session");
  t.equal(byUser.get('alice')!.size, 1, "alice's all to hers");
  t.not([...byUser.get('alice')!][0], bobSession.id);
});

t.test("logout ends that user's upstream session only", async (t) => {
  const cookies: Record<string, { cookie: string }> = {};
  const sessions: Record<string, LegacySession> = {};
  for (const sub of ['alice', 'bob']) {
    const user = sessionUser(sub);
    await recordSession(store, user);
    cookies[sub] = {
      cookie: `mcp_proxy_session=${encodeURIComponent(await sealSessionCookie(TEST_SESSION_KEY, user))}`,
    };
    const open = opened();
    t.equal((await tool('legacy', cookies[sub]!, 'whoami')).status, 200);
    [sessions[sub]] = (await open) as [LegacySession];
  }
  const streams = server.open;
  t.equal((await logoutThroughProxy(proxy.url, cookies.alice!.cookie, { everywhere: true })).status, 200);
  await sessions.alice!.closed;
  t.equal(server.open, streams - 1, "only alice's stream closed");
  const before = server.sessions.size;
  t.equal((await tool('legacy', cookies.bob!, 'whoami')).status, 200);
  t.equal((await tool('legacy', 'alice', 'whoami')).status, 200, "the API key alice's session is another's");
  t.equal(server.sessions.size, before, 'no new session for them');
});

t.test('an idle session ends after http.idleTimeout; the next request opens another', async (t) => {
  const open = opened();
  t.equal((await tool('brief', 'alice', 'whoami')).status, 200);
  const [first] = await open;
  await first.closed;
  const again = opened();
  t.equal((await tool('brief', 'alice', 'whoami')).status, 200);
  const [second] = await again;
  t.not(second.id, first.id);
});

t.test('the server dropping the stream ends the session; the next request opens another', async (t) => {
  const open = opened();
  t.equal((await tool('brief', 'bob', 'whoami')).status, 200);
  const [first] = await open;
  const again = opened();
  await server.drop(first.id);
  t.equal((await tool('brief', 'bob', 'whoami')).status, 200);
  t.not((await again)[0].id, first.id);
});

t.test('a session the server forgot (404) is replaced transparently, once', async (t) => {
  const open = opened();
  t.equal((await tool('again', 'alice', 'whoami')).status, 200);
  const [first] = await open;
  server.forget(first.id);
  const again = opened();
  const posted = server.postedTo.length;
  const r = await tool('again', 'alice', 'whoami');
  t.equal(r.status, 200, JSON.stringify(r.body));
  t.equal(JSON.parse(r.body.result.content[0].text).user, 'alice');
  const [second] = await again;
  t.not(second.id, first.id, 'a new upstream session');
  t.same(
    server.postedTo.slice(posted),
    [first.id, second.id, second.id, second.id],
    'the call to the forgotten session, then initialize, initialized and the call on the new one',
  );
  await first.closed;
  t.pass("the forgotten session's stream was closed");
});

t.test('auto: a stateless first request finds HTTP+SSE and is bridged', async (t) => {
  const r = await call('found', 'bob', 'tools/list');
  t.equal(r.status, 200, JSON.stringify(r.body));
  t.equal(r.body.result.resultType, 'complete');
  t.ok(proxy.logs().some((l) => l.event === 'mcp.transport_detected' && l.backend === 'found'));
});

t.test('shutdown closes every upstream stream', async (t) => {
  const other = await startProxy({
    apiKeys,
    backends: [{ name: 'legacy', http: { url: server.url, transport: 'sse' } }],
  });
  const c = statelessClient(() => other.url);
  const mine: LegacySession[] = [];
  for (const who of ['alice', 'bob'] as const) {
    const open = opened();
    const r = await c.call('legacy', auth(who), 'tools/call', { name: 'whoami', arguments: {}, _meta: meta() });
    t.equal(r.status, 200);
    mine.push((await open)[0]);
  }
  await other.close();
  await Promise.all(mine.map((s) => s.closed));
  t.pass('both streams closed');
});
