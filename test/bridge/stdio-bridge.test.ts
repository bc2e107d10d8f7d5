// MCP 2026-07-28 requests (raw fetch) to a 2025 SDK server over stdio, through the proxy's
// version bridge: input-required results resumed on the next round trip, per-request client
// capabilities, logs only at a requested level, subscriptions/listen, result shapes, removed and
// unknown methods, and one upstream session (and child) per principal.
import { sseEvents, statelessClient } from '../helpers/stateless-client.js';
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { childrenOf } from '../helpers/stdio-stack.js';
import { ROOT } from '../helpers/spawn.js';
import { startStack } from '../helpers/stack.js';

const V = '2026-07-28';
const SERVER = `${ROOT}test/helpers/conformance-stdio-server.mjs`;
const meta = (caps: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': caps,
  ...extra,
});
const stdio = (name: string, isolation: string) => ({
  name,
  stdio: { command: process.execPath, args: [SERVER], isolation },
});
const stack = await startStack({
  consent: false,
  backends: () => [stdio('iso', 'session'), stdio('mine', 'user')],
});
t.teardown(() => stack.close());
const { proxy } = stack;
const alice = (await loginThroughProxy(proxy.url, 'alice')).cookie;
const bob = (await loginThroughProxy(proxy.url, 'bob')).cookie;

const client = statelessClient(() => proxy.url);
const post = (backend: string, cookie: string, method: string, params: Record<string, unknown>, headers = {}) =>
  client.post(backend, { cookie }, method, params, headers);
const call = (backend: string, cookie: string, method: string, params: Record<string, unknown>) =>
  client.call(backend, { cookie }, method, params);
const events = sseEvents;

t.test('a server→client request becomes an input-required result, resumed on the next round trip', async (t) => {
  const caps = { elicitation: {} };
  const first = await call('mine', alice, 'tools/call', { name: 'ask_twice', arguments: {}, _meta: meta(caps) });
  t.equal(first.status, 200);
  const r1 = first.body.result;
  t.equal(r1.resultType, 'input_required');
  const [k1] = Object.keys(r1.inputRequests);
  t.equal(r1.inputRequests[k1!].method, 'elicitation/create');
  t.equal(r1.inputRequests[k1!].params.message, 'First name?');
  t.type(r1.requestState, 'string');
  const base = { name: 'ask_twice', arguments: {}, _meta: meta(caps) };
  // Another user cannot resume it (the state belongs to alice's upstream session).
  const stolen = await call('mine', bob, 'tools/call', {
    ...base,
    requestState: r1.requestState,
    inputResponses: { [k1!]: { action: 'accept', content: { name: 'Mallory' } } },
  });
  t.equal(stolen.status, 400);
  t.equal(stolen.body.error.code, -32602);
  const second = await call('mine', alice, 'tools/call', {
    ...base,
    requestState: r1.requestState,
    inputResponses: { [k1!]: { action: 'accept', content: { name: 'Ada' } } },
  });
  const r2 = second.body.result;
  t.equal(r2.resultType, 'input_required', 'the second elicitation: another round');
  const [k2] = Object.keys(r2.inputRequests);
  t.equal(r2.inputRequests[k2!].params.message, 'Second name?');
  t.not(r2.requestState, r1.requestState);
  const replay = await call('mine', alice, 'tools/call', {
    ...base,
    requestState: r1.requestState,
    inputResponses: { [k1!]: { action: 'accept', content: { name: 'Ada' } } },
  });
  t.equal(replay.body.error?.code, -32602, 'a used requestState is gone');
  const third = await call('mine', alice, 'tools/call', {
    ...base,
    requestState: r2.requestState,
    inputResponses: { [k2!]: { action: 'accept', content: { name: 'Grace' } } },
  });
  t.equal(third.status, 200);
  t.same(third.body.result.content, [{ type: 'text', text: 'Ada and Grace' }]);
  t.equal(third.body.result.resultType, 'complete');
  t.equal(third.body.id, client.lastId(), 'answered under the id of the last round trip');
});

t.test('a capability the request did not declare: -32021, HTTP 400, and the server is refused', async (t) => {
  const r = await call('mine', alice, 'tools/call', { name: 'test_missing_capability', arguments: {}, _meta: meta() });
  t.equal(r.status, 400);
  t.equal(r.body.error.code, -32021);
  t.same(r.body.error.data.requiredCapabilities, { sampling: {} });
  // Declared: the sampling request comes back as input, answered by the client, and the tool finishes.
  const caps = { sampling: {} };
  const asked = await call('mine', alice, 'tools/call', {
    name: 'test_missing_capability',
    arguments: {},
    _meta: meta(caps),
  });
  const [key] = Object.keys(asked.body.result.inputRequests);
  t.equal(asked.body.result.inputRequests[key!].method, 'sampling/createMessage');
  const done = await call('mine', alice, 'tools/call', {
    name: 'test_missing_capability',
    arguments: {},
    _meta: meta(caps),
    requestState: asked.body.result.requestState,
    inputResponses: {
      [key!]: { role: 'assistant', content: { type: 'text', text: 'hi there' }, model: 'm', stopReason: 'endTurn' },
    },
  });
  t.same(done.body.result.content, [{ type: 'text', text: 'sampled: hi there' }]);
});

t.test('logs only at the level the request asked for, on an SSE stream', async (t) => {
  const quiet = await call('mine', alice, 'tools/call', { name: 'test_logging_tool', arguments: {}, _meta: meta() });
  t.same(quiet.body.result.content, [{ type: 'text', text: 'logged' }], 'no level: plain JSON, no logs');
  const res = await post('mine', alice, 'tools/call', {
    name: 'test_logging_tool',
    arguments: {},
    _meta: meta({}, { 'io.modelcontextprotocol/logLevel': 'warning' }),
  });
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const got = await events(res, 2);
  t.same(
    got.map((m) => m.method ?? 'result'),
    ['notifications/message', 'result'],
  );
  t.equal(got[0].params.level, 'error', 'the info log was left out');
});

t.test('results carry resultType and conservative cache hints', async (t) => {
  for (const [method, params] of [
    ['tools/list', {}],
    ['prompts/list', {}],
    ['resources/list', {}],
    ['resources/templates/list', {}],
    ['resources/read', { uri: 'test://static' }],
  ] as const) {
    const r = await call('mine', alice, method, { ...params, _meta: meta() });
    t.match(r.body.result, { resultType: 'complete', ttlMs: 0, cacheScope: 'private' }, method);
  }
  const echo = await call('mine', alice, 'tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: meta() });
  t.equal(echo.body.result.resultType, 'complete');
  t.notOk('ttlMs' in echo.body.result, 'no cache hints on a tool call');
});

t.test('subscriptions/listen: acknowledged first, then only what was asked, tagged', async (t) => {
  const res = await post('mine', alice, 'subscriptions/listen', {
    _meta: meta(),
    notifications: { toolsListChanged: true, resourceSubscriptions: ['test://static'] },
  });
  t.equal(res.status, 200);
  const got = await events(res, 3, async (n) => {
    if (n !== 1) return;
    await call('mine', alice, 'tools/call', { name: 'test_trigger_prompt_change', arguments: {}, _meta: meta() });
    await call('mine', alice, 'tools/call', { name: 'test_trigger_tool_change', arguments: {}, _meta: meta() });
    await call('mine', alice, 'tools/call', { name: 'touch_resource', arguments: {}, _meta: meta() });
  });
  t.equal(got[0].method, 'notifications/subscriptions/acknowledged');
  t.same(got[0].params.notifications, { toolsListChanged: true, resourceSubscriptions: ['test://static'] });
  const id = got[0].params._meta['io.modelcontextprotocol/subscriptionId'];
  t.same(
    got.slice(1).map((m) => m.method),
    ['notifications/tools/list_changed', 'notifications/resources/updated'],
    'no prompts/list_changed: not asked for',
  );
  for (const m of got) t.equal(m.params._meta['io.modelcontextprotocol/subscriptionId'], id);
});

t.test('removed, unknown and ill-formed requests never reach the server', async (t) => {
  for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'unknown/method']) {
    const r = await call('mine', alice, method, { _meta: meta() });
    t.equal(r.status, 404, method);
    t.equal(r.body.error.code, -32601, method);
  }
  const noMeta = await call('mine', alice, 'tools/list', {});
  t.same([noMeta.status, noMeta.body.error.code], [400, -32602]);
  const v999 = { _meta: { ...meta(), 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } };
  const res = await post('mine', alice, 'server/discover', v999, { 'mcp-protocol-version': 'v999.0.0' });
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { code: -32022, data: { supported: [V], requested: 'v999.0.0' } } });
  const listen = { _meta: meta(), notifications: { toolsListChanged: true } };
  const plain = await post('mine', alice, 'subscriptions/listen', listen, { accept: 'application/json' });
  t.equal(plain.status, 406, 'a listen stream needs SSE');
  const discover = await call('mine', alice, 'server/discover', { _meta: meta() });
  t.same(discover.body.result.supportedVersions, [V]);
  t.equal(discover.body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'conformance-stdio-server');
});

t.test('isolation: session: one child per principal for stateless requests, not one per request', async (t) => {
  const before = childrenOf(process.pid, 'conformance-stdio-server').length;
  for (let i = 0; i < 3; i++) await call('iso', alice, 'tools/list', { _meta: meta() });
  t.equal(childrenOf(process.pid, 'conformance-stdio-server').length - before, 1, 'alice: one child');
  await call('iso', bob, 'tools/list', { _meta: meta() });
  t.equal(childrenOf(process.pid, 'conformance-stdio-server').length - before, 2, 'bob: his own');
});

t.test('a 2025 SDK client on the same child keeps its session and its own capabilities', async (t) => {
  const client = new Client({ name: 'old', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/mine`), {
    requestInit: { headers: { cookie: alice } },
  });
  await client.connect(transport);
  t.ok(transport.sessionId);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'old' } });
  t.same(r.content, [{ type: 'text', text: 'old' }]);
  t.notOk('resultType' in r, 'a 2025 result stays as it was');
  await client.close();
});
