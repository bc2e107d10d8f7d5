// MCP 2026-07-28 requests (raw fetch) to a 2025 SDK streamable-HTTP server, through the proxy's
// version bridge: discovery, result shapes, input-required results resumed with requestState,
// subscriptions/listen, removed methods, one upstream session per principal with the identity of
// each request on every upstream POST; a 2026-native server is still forwarded as it is.
import { sseEvents, statelessClient } from '../helpers/stateless-client.js';
import t from 'tap';
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { listen, shut } from '../helpers/backend-mcp.js';
import { startProxy } from '../helpers/proxy.js';
import { startStatelessServer } from '../helpers/stateless-server.js';

const V = '2026-07-28';
const KEYS = { alice: 'http-bridge-alice-key', bob: 'http-bridge-bob-key' } as const;
type Who = keyof typeof KEYS;
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const meta = (caps: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': caps,
});
const text = (s: string) => ({ content: [{ type: 'text' as const, text: s }] });

/** What the 2025 server saw on each POST. */
const posts: Array<{ method?: string; session?: string; user?: string; version?: string; auth?: string }> = [];
const sessions = new Map<string, StreamableHTTPServerTransport>();
const old = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  const h = req.headers;
  if (req.method === 'POST')
    posts.push({
      method: body?.method,
      session: h['mcp-session-id'] as string | undefined,
      user: h['x-forwarded-user'] as string | undefined,
      version: h['mcp-protocol-version'] as string | undefined,
      auth: h['x-api-key'] as string | undefined,
    });
  const sid = h['mcp-session-id'];
  let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
  if (!transport) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport!),
    });
    const mcp = new McpServer({ name: 'old-http', version: '1.0.0' });
    mcp.registerTool(
      'echo',
      { description: 'echo', inputSchema: { a: z.number().optional(), who: z.string().optional() } },
      async (args) => text(JSON.stringify(args)),
    );
    mcp.registerTool('ask', { description: 'Elicits a name.' }, async () => {
      const schema = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };
      const a = await mcp.server.elicitInput({ message: 'Name?', requestedSchema: schema });
      return text(`hello ${a.content?.name}`);
    });
    let added = 0;
    mcp.registerTool('grow', { description: 'Adds a tool.' }, async () => {
      mcp.registerTool(`added_${++added}`, { description: 'added' }, async () => text('added'));
      return text('grown');
    });
    await mcp.connect(transport);
  }
  await transport.handleRequest(req, res, body);
});
const oldUrl = `http://127.0.0.1:${await listen(old)}/mcp`;
t.teardown(() => shut(old));
const modern = await startStatelessServer();
t.teardown(() => modern.close());

const apiKeys = Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha(key), subject: name }));
const proxy = await startProxy({
  apiKeys,
  backends: [
    { name: 'old', http: { url: oldUrl, transport: 'streamable' } },
    { name: 'pinned', http: { url: oldUrl, transport: 'streamable', protocol: '2025' } },
    {
      name: 'filtered',
      http: { url: oldUrl, transport: 'streamable', protocol: '2025' },
      tools: [
        { match: 'ask', deny: true },
        { match: '*', allow: { apiKeys: ['alice', 'bob'] } },
      ],
    },
    { name: 'modern', http: { url: modern.url, transport: 'streamable' } },
  ],
});
t.teardown(() => proxy.close());

const client = statelessClient(() => proxy.url);
const post = (backend: string, who: Who, method: string, params: Record<string, unknown>, headers = {}) =>
  client.post(backend, { 'x-api-key': KEYS[who] }, method, params, headers);
const call = (backend: string, who: Who, method: string, params: Record<string, unknown>) =>
  client.call(backend, { 'x-api-key': KEYS[who] }, method, params);
const events = sseEvents;

t.test('server/discover: the first stateless request finds a 2025 server, then is bridged', async (t) => {
  const r = await call('old', 'alice', 'server/discover', { _meta: meta() });
  t.equal(r.status, 200);
  t.same(r.body.result.supportedVersions, [V]);
  t.equal(r.body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'old-http');
  const init = posts.find((p) => p.method === 'initialize');
  t.ok(init, 'the bridge initialized an upstream 2025 session');
  t.not(init!.version, V);
});

t.test('tools/list and tools/call, with resultType', async (t) => {
  const list = await call('old', 'alice', 'tools/list', { _meta: meta() });
  t.equal(list.status, 200);
  t.same(
    list.body.result.tools.map((x: any) => x.name),
    ['echo', 'ask', 'grow'],
  );
  t.equal(list.body.result.resultType, 'complete');
  const echo = await call('old', 'alice', 'tools/call', { name: 'echo', arguments: { a: 1 }, _meta: meta() });
  t.equal(echo.status, 200);
  t.equal(echo.body.result.resultType, 'complete');
  t.match(echo.body.result.content[0].text, /"a":1/);
});

t.test('an elicitation becomes an input-required result, resumed with requestState', async (t) => {
  const caps = { elicitation: {} };
  const first = await call('old', 'alice', 'tools/call', { name: 'ask', arguments: {}, _meta: meta(caps) });
  t.equal(first.status, 200);
  const r1 = first.body.result;
  t.equal(r1?.resultType, 'input_required', JSON.stringify(first.body));
  const [k] = Object.keys(r1.inputRequests);
  t.equal(r1.inputRequests[k!].method, 'elicitation/create');
  t.equal(r1.inputRequests[k!].params.message, 'Name?');
  const done = await call('old', 'alice', 'tools/call', {
    name: 'ask',
    arguments: {},
    _meta: meta(caps),
    requestState: r1.requestState,
    inputResponses: { [k!]: { action: 'accept', content: { name: 'Ada' } } },
  });
  t.equal(done.status, 200);
  t.same(done.body.result.content, [{ type: 'text', text: 'hello Ada' }]);
  const missing = await call('old', 'alice', 'tools/call', { name: 'ask', arguments: {}, _meta: meta() });
  t.equal(missing.status, 400, 'no elicitation capability declared');
  t.equal(missing.body.error.code, -32021);
});

t.test('subscriptions/listen: acknowledged, then the list change', async (t) => {
  const res = await post('old', 'alice', 'subscriptions/listen', {
    _meta: meta(),
    notifications: { toolsListChanged: true },
  });
  t.equal(res.status, 200);
  const got = await events(res, 2, async (n) => {
    if (n === 1) await call('old', 'alice', 'tools/call', { name: 'grow', arguments: {}, _meta: meta() });
  });
  t.equal(got[0].method, 'notifications/subscriptions/acknowledged');
  t.equal(got[1].method, 'notifications/tools/list_changed');
});

t.test('removed methods: 404, never forwarded', async (t) => {
  const before = posts.length;
  for (const method of ['initialize', 'ping', 'logging/setLevel']) {
    const r = await call('old', 'alice', method, { _meta: meta() });
    t.equal(r.status, 404, method);
    t.equal(r.body.error.code, -32601);
  }
  t.equal(posts.length, before, 'nothing reached the server');
});

t.test('two principals: separate upstream sessions, each request with its own identity', async (t) => {
  const b = await call('old', 'bob', 'tools/call', { name: 'echo', arguments: { who: 'bob' }, _meta: meta() });
  t.equal(b.status, 200);
  const a = await call('old', 'alice', 'tools/call', { name: 'echo', arguments: { who: 'a' }, _meta: meta() });
  t.equal(a.status, 200);
  const bridged = posts.filter((p) => p.session !== undefined || p.method === 'initialize');
  const aliceSessions = new Set(bridged.filter((p) => p.user === 'alice' && p.session).map((p) => p.session));
  const bobSessions = new Set(bridged.filter((p) => p.user === 'bob' && p.session).map((p) => p.session));
  t.equal(aliceSessions.size, 1, "alice's requests on one upstream session");
  t.equal(bobSessions.size, 1, "bob's on one");
  t.not([...aliceSessions][0], [...bobSessions][0]);
  t.ok(
    bridged.every((p) => p.user === 'alice' || p.user === 'bob'),
    'identity on every upstream POST',
  );
  t.ok(
    posts.every((p) => p.auth === undefined),
    'the client credential never reaches the server',
  );
});

t.test('protocol: 2025 bridges from the first request', async (t) => {
  const before = posts.length;
  const r = await call('pinned', 'bob', 'tools/list', { _meta: meta() });
  t.equal(r.status, 200);
  t.equal(r.body.result.resultType, 'complete');
  t.equal(posts[before]!.method, 'initialize', 'no native attempt first');
});

t.test('policy filters a bridged list answer', async (t) => {
  const list = await call('filtered', 'alice', 'tools/list', { _meta: meta() });
  t.equal(list.status, 200);
  t.same(
    list.body.result.tools.map((x: any) => x.name),
    ['echo', 'grow'],
    'the denied tool is not listed',
  );
});

t.test('a 2026-native server is forwarded as it is', async (t) => {
  const r = await call('modern', 'alice', 'tools/list', { _meta: meta() });
  t.equal(r.status, 200);
  const again = await call('modern', 'alice', 'tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: meta() });
  t.equal(again.status, 200);
  t.same(
    modern.seen.map((s) => s.method),
    ['tools/list', 'tools/call'],
    'no initialize: the requests went natively',
  );
  t.equal(modern.seen[1]!.headers['mcp-protocol-version'], V);
});
