// The reverse version bridge (DESIGN §12): the real SDK client (a 2025 client) through the proxy
// to an HTTP backend that speaks only MCP 2026-07-28 (test/helpers/stateless-server.ts).
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { apiKey } from '../helpers/hostile.js';
import { startProxy } from '../helpers/proxy.js';
import { startStatelessServer } from '../helpers/stateless-server.js';

const ALICE = apiKey('alice', 'alice');
const BOB = apiKey('bob', 'bob');

const server = await startStatelessServer();
const proxy = await startProxy({
  apiKeys: [ALICE.config, BOB.config],
  backends: [
    { name: 'new', http: { url: server.url } },
    { name: 'fixed', http: { url: server.url, protocol: '2026-07-28' } },
    { name: 'ruled', http: { url: server.url }, tools: [{ match: 'echo' }] },
  ],
});
t.teardown(async () => {
  await proxy.close();
  await server.close();
});

async function connect(who: { headers: Record<string, string> }, backend = 'new', name = 'reverse-test') {
  const capabilities = { elicitation: {}, sampling: {}, roots: {} };
  const client = new Client({ name, version: '1' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/${backend}`), {
    requestInit: { headers: who.headers },
  });
  await client.connect(transport);
  return { client, transport };
}

const textOf = (r: any) => r.content?.[0]?.text;
const count = (method: string) => server.seen.filter((s) => s.method === method).length;

t.test('a 2025 client initializes against a 2026-07-28-only server; detection is cached', async (t) => {
  const { client, transport } = await connect(ALICE);
  t.same(client.getServerVersion(), { name: 'stateless-test', version: '1.0.0' }, 'serverInfo from server/discover');
  t.equal(client.getInstructions(), 'a 2026-07-28-only test server');
  t.ok(client.getServerCapabilities()?.resources?.subscribe);
  t.match(transport.sessionId, /^r\./, 'a session held by the proxy');
  t.equal(count('initialize'), 1, 'the one initialize that found the server out');
  const second = await connect(BOB);
  t.equal(count('initialize'), 1, 'known now: the next session start does not ask again');
  await second.client.close();
  const fixed = await connect(ALICE, 'fixed');
  t.equal(count('initialize'), 1, 'http.protocol: 2026-07-28 never sends initialize');
  await fixed.client.close();
  await client.ping(); // answered by the proxy
  t.equal(count('ping'), 0, 'ping never reaches a 2026-07-28 server');
  await client.close();
});

t.test('tools, resources and prompts as 2026-07-28 requests; results without resultType or cache hints', async (t) => {
  const { client } = await connect(ALICE, 'new', 'sdk-alice');
  const raw = await client.request({ method: 'tools/list', params: {} }, z.object({}).passthrough());
  t.same(Object.keys(raw).sort(), ['tools']);
  t.equal((raw.tools as unknown[]).length, 8);
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'hi');
  t.equal(textOf(await client.callTool({ name: 'whoami', arguments: {} })), 'alice via sdk-alice');
  const call = server.seen.findLast((s) => s.method === 'tools/call')!;
  t.equal(call.headers['mcp-protocol-version'], '2026-07-28');
  t.equal(call.headers['mcp-method'], 'tools/call');
  t.equal(call.headers['mcp-name'], 'whoami');
  t.equal(call.headers['mcp-session-id'], undefined, 'no session reaches the server');
  t.equal(call.headers['x-api-key'], undefined, 'the client credential is not forwarded');
  t.same(call.params._meta['io.modelcontextprotocol/clientCapabilities'], { elicitation: {}, sampling: {}, roots: {} });
  const resources = await client.listResources();
  t.same(resources.resources, [{ uri: 'test://doc', name: 'doc' }]);
  const read = await client.readResource({ uri: 'test://doc' });
  t.same(Object.keys(read), ['contents']);
  t.equal((read.contents[0] as { text: string }).text, 'contents of test://doc');
  t.equal(server.seen.findLast((s) => s.method === 'resources/read')!.headers['mcp-name'], 'test://doc');
  t.equal((await client.listPrompts()).prompts[0]!.name, 'greet');
  const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'bob' } });
  t.same(prompt.messages[0]!.content, { type: 'text', text: 'greet bob' });
  await client.close();
});

t.test('progress and log messages of a streamed answer reach the client', async (t) => {
  const { client } = await connect(ALICE);
  const logs: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
  await client.setLoggingLevel('info');
  t.equal(count('logging/setLevel'), 0, 'logging/setLevel answered by the proxy');
  const progress: number[] = [];
  const r = await client.callTool({ name: 'progress', arguments: {} }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  t.equal(textOf(r), 'done');
  t.same(progress, [1, 2, 3]);
  t.same(logs, ['working']);
  t.equal(
    server.seen.findLast((s) => s.method === 'tools/call')!.params._meta['io.modelcontextprotocol/logLevel'],
    'info',
  );
  await client.close();
});

t.test('elicitation and sampling: input-required results become requests to the client', async (t) => {
  const a = await connect(ALICE);
  const b = await connect(BOB);
  a.client.setRequestHandler(ElicitRequestSchema, async (r) => {
    t.equal(r.params.message, 'Your name?');
    return { action: 'accept', content: { name: 'Alice' } };
  });
  b.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Bob' } }));
  const [ra, rb] = await Promise.all([
    a.client.callTool({ name: 'ask_name', arguments: {} }),
    b.client.callTool({ name: 'ask_name', arguments: {} }),
  ]);
  t.equal(textOf(ra), 'hello Alice (asked-once)', 'the answer and the request state went back');
  t.equal(textOf(rb), 'hello Bob (asked-once)', 'each client answers its own');
  a.client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'short' },
    model: 'm',
  }));
  t.equal(textOf(await a.client.callTool({ name: 'summarize', arguments: {} })), 'summary: short');
  a.client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///a' }] }));
  t.equal(textOf(await a.client.callTool({ name: 'roots', arguments: {} })), 'file:///a');
  await a.client.close();
  await b.client.close();
});

t.test('resources/subscribe becomes subscriptions/listen; its events reach the GET stream', async (t) => {
  const { client } = await connect(ALICE);
  // the client's GET stream is open: list changes are listened for
  await server.listenersAre([{ toolsListChanged: true }]);
  const updated: string[] = [];
  let changed!: () => void;
  let listChanged = new Promise<void>((r) => (changed = r));
  let gotUpdate!: () => void;
  const update = new Promise<void>((r) => (gotUpdate = r));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updated.push(n.params.uri);
    gotUpdate();
  });
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed());
  await client.subscribeResource({ uri: 'test://doc' });
  t.same(server.listeners().at(-1), { toolsListChanged: true, resourceSubscriptions: ['test://doc'] });
  await client.callTool({ name: 'touch', arguments: { uri: 'test://doc' } });
  await update;
  await listChanged;
  t.same(updated, ['test://doc']);
  await client.unsubscribeResource({ uri: 'test://doc' });
  await server.listenersAre([{ toolsListChanged: true }]);
  t.pass('one listen stream, without the resource');
  listChanged = new Promise<void>((r) => (changed = r));
  await client.callTool({ name: 'touch', arguments: { uri: 'test://doc' } });
  await listChanged;
  t.same(updated, ['test://doc'], 'no update after unsubscribe');
  server.dropListeners();
  await server.listenersAre([]);
  await server.listenersAre([{ toolsListChanged: true }]);
  t.pass('a listen stream the server ended is opened again');
  await client.close();
  await server.listenersAre([]);
  t.pass('closing the client (its GET stream) ends its listen stream');
});

t.test("the backend's tools rules apply to bridged lists and calls", async (t) => {
  const { client } = await connect(ALICE, 'ruled');
  t.same(
    (await client.listTools()).tools.map((x) => x.name),
    ['echo'],
    'the list is filtered',
  );
  const before = count('tools/call');
  const refused = await client.callTool({ name: 'whoami', arguments: {} }).catch((e: Error) => e);
  t.ok(refused instanceof Error || (refused as { isError?: boolean }).isError, 'refused');
  t.equal(count('tools/call'), before, 'never reached the server');
  t.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } })), 'ok');
  await client.close();
});

t.test('a cancelled call is aborted at the server', async (t) => {
  const { client } = await connect(ALICE);
  const abort = new AbortController();
  const hanging = new Promise((r) => server.events.once('hanging', r));
  const closed = new Promise((r) => server.events.once('hang-closed', r));
  const call = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: abort.signal });
  await hanging;
  abort.abort('changed my mind');
  await t.rejects(call);
  await closed;
  t.pass('the upstream request ended');
  await client.close();
});

t.test('sessions are isolated: another principal gets 404; a deleted session is gone', async (t) => {
  const { client, transport } = await connect(ALICE);
  const post = (headers: Record<string, string>, sessionId: string) =>
    fetch(`${proxy.url}/mcp/new`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
  const sid = transport.sessionId!;
  t.equal((await post(ALICE.headers, sid)).status, 200);
  t.equal((await post(BOB.headers, sid)).status, 404, "bob cannot use alice's session");
  t.equal((await post(ALICE.headers, `r.${'x'.repeat(40)}`)).status, 404, 'an id never issued');
  await transport.terminateSession();
  t.equal((await post(ALICE.headers, sid)).status, 404, 'deleted');
  await client.close();
});

t.test('a 2026-07-28 client is forwarded natively', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/new`, {
    method: 'POST',
    headers: {
      ...ALICE.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/list',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  t.equal(res.status, 200);
  const body = (await res.json()) as { result: Record<string, unknown> };
  t.equal(body.result.resultType, 'complete', 'the server answer as it is');
  t.equal(body.result.ttlMs, 0);
});
