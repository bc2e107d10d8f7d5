// MCP 2026-07-28 requests (raw fetch) to a virtual server, through the proxy's version bridge over a
// virtual session per principal: server/discover, prefixed lists, routed calls, a member's elicitation as
// an input-required result resumed with requestState, progress, logs at the requested level,
// subscriptions/listen with members' list changes and resource updates, principals kept apart, each
// member's policy per principal, the revision's checks, and logout.
import t from 'tap';
import { inputRequest, sseEvents, STATELESS as V, statelessClient } from '../helpers/stateless-client.js';
import { alice, bob, startVirtualStack } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());
const client = statelessClient(() => stack.proxy.url);
const meta = (caps: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': caps,
});
type Who = { headers: Record<string, string> };
const call = (who: Who, method: string, params: Record<string, unknown> = {}, caps = {}) =>
  client.call('both', who.headers, method, { ...params, _meta: meta(caps) });
const text = (r: { body: any }) => r.body.result?.content?.[0]?.text as string | undefined;

t.test('server/discover answers for the members together', async (t) => {
  const r = await call(alice, 'server/discover');
  t.equal(r.status, 200);
  const d = r.body.result;
  t.equal(d.resultType, 'complete');
  t.same(d.supportedVersions, [V]);
  t.ok(d.capabilities.tools, 'tools: both members offer them');
  t.ok(d.capabilities.resources?.subscribe, 'resource subscriptions: the stdio member offers them');
  t.equal(d._meta['io.modelcontextprotocol/serverInfo'].name, 'both');
});

t.test('tools/list: prefixed names of every member, with resultType and cache hints', async (t) => {
  const r = await call(alice, 'tools/list');
  t.equal(r.status, 200);
  const names = r.body.result.tools.map((x: { name: string }) => x.name);
  for (const name of ['web_echo', 'web_whoami', 'mux_log', 'mux_ask']) t.ok(names.includes(name), name);
  t.notOk(names.includes('echo'), 'no unprefixed name');
  t.match(r.body.result, { resultType: 'complete', ttlMs: 0, cacheScope: 'private' });
});

t.test('a call is routed by its prefix to the member, unprefixed', async (t) => {
  const before = stack.demo!.seen.length;
  const r = await call(alice, 'tools/call', { name: 'web_echo', arguments: { text: 'hi' } });
  t.equal(r.status, 200);
  t.equal(text(r), 'hi');
  t.equal(r.body.result.resultType, 'complete');
  t.ok(stack.demo!.seen.length > before, 'the HTTP member ran it');
  const unknown = await call(alice, 'tools/call', { name: 'nope_echo', arguments: {} });
  t.equal(unknown.body.error.code, -32602, 'an unknown prefix reaches no member');
});

t.test("a member's elicitation: an input-required result, resumed with requestState", async (t) => {
  const caps = { elicitation: {} };
  const params = { name: 'mux_ask', arguments: { method: 'elicitation/create' } };
  const first = await call(alice, 'tools/call', params, caps);
  t.match(first.type, /^application\/json/, 'no request of its own on a stream: one result');
  const asked = inputRequest(first.body.result);
  t.match(asked, { method: 'elicitation/create', params: { message: 'your name?' }, state: String });
  const resume = {
    requestState: asked!.state,
    inputResponses: { [asked!.key]: { action: 'accept', content: { name: 'Ann' } } },
  };
  const stolen = await call(bob, 'tools/call', { ...params, ...resume });
  t.same([stolen.status, stolen.body.error?.code], [400, -32602], "bob cannot resume alice's request");
  const done = await call(alice, 'tools/call', { ...params, ...resume });
  t.equal(done.status, 200);
  t.equal(done.body.result.resultType, 'complete');
  t.match(text(done), /^answered: .*"name":"Ann"/, 'the member got the answer');
  t.equal(done.body.id, client.lastId(), 'answered under the id of the last round trip');

  const undeclared = await call(alice, 'tools/call', params);
  t.same([undeclared.status, undeclared.body.error?.code], [400, -32021], 'not declared: -32021');
  t.same(undeclared.body.error.data.requiredCapabilities, { elicitation: {} });
});

t.test("a member's progress reaches the request that asked for it", async (t) => {
  const res = await client.post('both', alice.headers, 'tools/call', {
    name: 'web_slow_count',
    arguments: { n: 2, delayMs: 0 },
    _meta: { ...meta(), progressToken: 'p1' },
  });
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const got = await sseEvents(res, 3);
  t.same(
    got.map((m) => (m.method ? [m.method, m.params.progressToken, m.params.progress] : ['result'])),
    [['notifications/progress', 'p1', 1], ['notifications/progress', 'p1', 2], ['result']],
  );
  t.equal(got[2].result.resultType, 'complete');
});

t.test("a member's logs: only at the level the request asked for", async (t) => {
  const quiet = await call(alice, 'tools/call', { name: 'mux_log', arguments: { text: 'shh', level: 'error' } });
  t.match(quiet.type, /^application\/json/, 'no logLevel: plain JSON, no log');
  t.equal(text(quiet), 'logged');
  const res = await client.post('both', alice.headers, 'tools/call', {
    name: 'mux_log',
    arguments: { text: 'loud', level: 'error' },
    _meta: { ...meta(), 'io.modelcontextprotocol/logLevel': 'warning' },
  });
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const got = await sseEvents(res, 2);
  t.same(
    got.map((m) => m.method ?? 'result'),
    ['notifications/message', 'result'],
  );
  t.equal(got[0].params.data, 'loud');
});

t.test("subscriptions/listen: members' list changes and resource updates, tagged", async (t) => {
  const res = await client.post('both', alice.headers, 'subscriptions/listen', {
    _meta: meta(),
    notifications: { toolsListChanged: true, resourceSubscriptions: ['test://note'] },
  });
  t.equal(res.status, 200);
  const got = await sseEvents(res, 3, async (n) => {
    if (n !== 1) return;
    const mux = (name: string, args = {}) => call(alice, 'tools/call', { name: `mux_${name}`, arguments: args });
    await mux('updated', { uri: 'test://item/1' }); // not subscribed to
    await mux('updated', { uri: 'test://note' });
    await mux('list_changed');
  });
  t.equal(got[0].method, 'notifications/subscriptions/acknowledged');
  t.same(got[0].params.notifications, { toolsListChanged: true, resourceSubscriptions: ['test://note'] });
  const id = got[0].params._meta['io.modelcontextprotocol/subscriptionId'];
  t.same(
    got.slice(1).map((m) => [m.method, m.params.uri]),
    [
      ['notifications/resources/updated', 'test://note'],
      ['notifications/tools/list_changed', undefined],
    ],
  );
  for (const m of got) t.equal(m.params._meta['io.modelcontextprotocol/subscriptionId'], id);
});

t.test('each principal has its own virtual session: members see who is calling', async (t) => {
  const a = await call(alice, 'tools/call', { name: 'web_whoami', arguments: {} });
  const b = await call(bob, 'tools/call', { name: 'web_whoami', arguments: {} });
  t.match(text(a), /"user":\s*"alice"/);
  t.match(text(b), /"user":\s*"bob"/);
  t.notMatch(text(b), /alice/);
});

t.test("a member's policy applies per principal", async (t) => {
  const listed = async (who: Who) =>
    (await call(who, 'tools/list')).body.result.tools.map((x: { name: string }) => x.name);
  t.ok((await listed(alice)).includes('web_delete_everything'), 'alice (admin) sees it');
  t.notOk((await listed(bob)).includes('web_delete_everything'), 'bob does not');
  const before = stack.demo!.seen.length;
  const refused = await call(bob, 'tools/call', { name: 'web_delete_everything', arguments: {} });
  t.equal(refused.body.error?.code, -32003, 'bob is refused with the policy code');
  t.equal(stack.demo!.seen.length, before, 'the refused call never reached the member');
  const allowed = await call(alice, 'tools/call', { name: 'web_delete_everything', arguments: {} });
  t.match(text(allowed), /nothing deleted/);
});

t.test('the revision’s checks: removed methods, headers, version', async (t) => {
  for (const method of ['ping', 'initialize', 'logging/setLevel', 'resources/subscribe']) {
    const r = await call(alice, method);
    t.same([r.status, r.body.error?.code], [404, -32601], method);
  }
  const mismatch = await client.post('both', alice.headers, 'tools/list', { _meta: meta() }, { 'mcp-method': 'x' });
  t.equal(mismatch.status, 400);
  t.equal(((await mismatch.json()) as any).error.code, -32020, 'Mcp-Method disagreeing with the body');
  const noMeta = await client.call('both', alice.headers, 'tools/list', {});
  t.same([noMeta.status, noMeta.body.error?.code], [400, -32602], '_meta is required');
  const v999meta = { ...meta(), 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' };
  const v999 = await client.post(
    'both',
    alice.headers,
    'tools/list',
    { _meta: v999meta },
    {
      'mcp-protocol-version': 'v999.0.0',
    },
  );
  t.equal(v999.status, 400);
  t.match(await v999.json(), { error: { code: -32022, data: { supported: [V] } } });
});

t.test('a 2025 client of the same virtual server keeps its session', async (t) => {
  const { client: c, transport } = await stack.connect(alice);
  t.ok(transport.sessionId);
  const r = await c.callTool({ name: 'web_echo', arguments: { text: 'old' } });
  t.same(r.content, [{ type: 'text', text: 'old' }]);
  t.notOk('resultType' in r, 'a 2025 result stays as it was');
});

t.test('logout ends the principal’s bridged session', async (t) => {
  const virtual = stack.proxy.backends.get('both');
  const mux = stack.proxy.backends.get('mux');
  const [v, m] = [virtual.stats().sessions, mux.stats().sessions];
  await virtual.endUser('apikey:bob');
  t.equal(virtual.stats().sessions, v - 1, "bob's virtual session ended");
  t.equal(mux.stats().sessions, m - 1, 'and his member session at the stdio member (it ends at once, in-process)');
  const again = await call(bob, 'tools/call', { name: 'web_echo', arguments: { text: 'back' } });
  t.equal(text(again), 'back', 'his next request opens another');
});
