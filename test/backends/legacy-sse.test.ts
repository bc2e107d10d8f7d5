/**
 * 2024-11-05 HTTP+SSE backends (`http.transport: sse | auto`): a real SDK server on the
 * deprecated SSEServerTransport behind the proxy, the real SDK client (streamable HTTP) in
 * front. One upstream stream per client session, identity on every upstream request,
 * progress and sampling routed back, sessions isolated, closed on DELETE and on idling out.
 */
import t from 'tap';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listen, shut } from '../helpers/backend-mcp.js';
import { loadConfig } from '../../src/app/config.js';
import { startProxy, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { type LegacySession, startLegacySseServer } from '../helpers/legacy-sse-server.js';
import { INITIALIZE, MCP_ACCEPT } from '../helpers/session-client.js';

const KEYS = { alice: 'legacy-sse-alice-key', bob: 'legacy-sse-bob-key' } as const;
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

const server = await startLegacySseServer();
t.teardown(() => server.close());

// A streamable HTTP server (stateful, the SDK's transport): what `auto` must keep treating as one.
const modernSessions = new Map<string, StreamableHTTPServerTransport>();
const modern = createServer(async (req, res) => {
  const sid = req.headers['mcp-session-id'];
  let transport = typeof sid === 'string' ? modernSessions.get(sid) : undefined;
  if (!transport) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void modernSessions.set(id, transport!),
    });
    const mcp = new McpServer({ name: 'modern', version: '1.0.0' });
    mcp.registerTool('hello', { description: 'hello' }, async () => ({ content: [{ type: 'text', text: 'hi' }] }));
    await mcp.connect(transport);
  }
  await transport.handleRequest(req, res);
});
const modernUrl = `http://127.0.0.1:${await listen(modern)}/mcp`;
t.teardown(() => shut(modern));

const tools = [
  { match: 'secret', deny: true },
  { match: '*', allow: { apiKeys: ['alice', 'bob'] } },
];
const apiKeys = Object.entries(KEYS).map(([name, key]) => ({ name, sha256: sha(key), subject: name }));
const backends = [
  { name: 'legacy', http: { url: server.url, transport: 'sse' } as Record<string, unknown>, tools },
  { name: 'detected', http: { url: server.url }, tools },
  { name: 'strict', http: { url: server.url, transport: 'streamable' }, tools },
  { name: 'modern', http: { url: modernUrl }, tools },
  { name: 'brief', http: { url: server.url, transport: 'sse', idleTimeout: '1s' }, tools },
];
const proxy = await startProxy({ apiKeys, backends });
t.teardown(() => proxy.close());

/** An SDK client through the proxy, answering sampling requests; the upstream session it caused. */
async function connect(who: keyof typeof KEYS, backend = 'legacy') {
  const client = new Client({ name: `test-${who}`, version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: `blue from ${who}` },
    model: 'test',
  }));
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/${backend}`), {
    requestInit: { headers: { 'x-api-key': KEYS[who] } },
  });
  const opened = once(server.events, 'open') as Promise<[LegacySession]>;
  await client.connect(transport);
  const [upstream] = await opened;
  return { client, transport, upstream };
}

const text = (r: any) => r.content[0].text as string;

t.test('initialize, tools/list, identity on every upstream request', async (t) => {
  const before = server.posts.length;
  const { client, transport, upstream } = await connect('alice');
  t.teardown(() => client.close());
  t.match(client.getServerVersion(), { name: 'legacy-sse' });
  t.ok(transport.sessionId, 'the client holds a session id');
  t.not(transport.sessionId, upstream.id, 'the upstream id never reaches the client');
  t.equal(upstream.headers['x-forwarded-user'], 'alice', 'the upstream GET carries the identity');
  t.equal(typeof upstream.headers['x-mcp-proxy-assertion'], 'string');
  t.notOk(upstream.headers['x-api-key'], 'the client credential stays here');
  const names = (await client.listTools()).tools.map((x) => x.name).sort();
  t.same(names, ['ask', 'count', 'whoami'], 'policy filters the list');
  t.same(JSON.parse(text(await client.callTool({ name: 'whoami' }))), { user: 'alice', assertion: 'string' });
  const posts = server.posts.slice(before);
  t.ok(posts.length >= 3);
  t.ok(
    posts.every((h) => h['x-forwarded-user'] === 'alice' && h['x-mcp-proxy-assertion'] && !h['x-api-key']),
    'every POST carries identity and no client credential',
  );
  t.ok(
    posts.every((h) => h['mcp-session-id'] === undefined && h['content-type'] === 'application/json'),
    "the client's sealed session id stays here",
  );
  const denied = await client.callTool({ name: 'secret' }).catch((e: Error) => e);
  t.match(String((denied as Error).message ?? JSON.stringify(denied)), /denied|-32003/);
});

t.test('tools/call with progress notifications', async (t) => {
  const { client } = await connect('alice');
  t.teardown(() => client.close());
  const seen: number[] = [];
  const r = await client.callTool({ name: 'count', arguments: { n: 4 } }, undefined, {
    onprogress: (p) => seen.push(p.progress),
  });
  t.equal(text(r), 'counted to 4');
  t.same(seen, [1, 2, 3, 4]);
});

t.test('a server→client request (sampling) answered by the client', async (t) => {
  const { client } = await connect('alice');
  t.teardown(() => client.close());
  t.equal(text(await client.callTool({ name: 'ask' })), 'client said: blue from alice');
});

t.test('two clients: their own upstream streams, progress and sampling; no session crosses', async (t) => {
  const a = await connect('alice');
  const b = await connect('bob');
  t.teardown(() => Promise.all([a.client.close(), b.client.close()]));
  t.not(a.upstream.id, b.upstream.id);
  t.equal(b.upstream.headers['x-forwarded-user'], 'bob');
  const seenA: number[] = [];
  const seenB: number[] = [];
  const [ra, rb, sa, sb] = await Promise.all([
    a.client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, { onprogress: (p) => seenA.push(p.progress) }),
    b.client.callTool({ name: 'count', arguments: { n: 5 } }, undefined, { onprogress: (p) => seenB.push(p.progress) }),
    a.client.callTool({ name: 'ask' }),
    b.client.callTool({ name: 'ask' }),
  ]);
  t.equal(text(ra), 'counted to 3');
  t.equal(text(rb), 'counted to 5');
  t.same(seenA, [1, 2, 3]);
  t.same(seenB, [1, 2, 3, 4, 5]);
  t.equal(text(sa), 'client said: blue from alice');
  t.equal(text(sb), 'client said: blue from bob');
  // Bob presenting Alice's session id: 404, and nothing reaches her upstream session.
  const posts = server.posts.length;
  const stolen = await fetch(`${proxy.url}/mcp/legacy`, {
    method: 'POST',
    headers: {
      'x-api-key': KEYS.bob,
      'mcp-session-id': a.transport.sessionId!,
      'content-type': 'application/json',
      accept: MCP_ACCEPT,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
  });
  t.equal(stolen.status, 404);
  t.equal(server.posts.length, posts, 'nothing reached the backend');
});

t.test('DELETE closes the upstream stream; the id is gone', async (t) => {
  const { client, transport, upstream } = await connect('alice');
  const id = transport.sessionId!;
  await transport.terminateSession();
  await upstream.closed;
  const after = await fetch(`${proxy.url}/mcp/legacy`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'mcp-session-id': id, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  t.equal(after.status, 404);
  await client.close();
});

t.test('an idle session expires and its upstream stream closes', async (t) => {
  const opened = once(server.events, 'open') as Promise<[LegacySession]>;
  const res = await fetch(`${proxy.url}/mcp/brief`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  t.match(await res.text(), /"protocolVersion"/);
  const id = res.headers.get('mcp-session-id')!;
  const [upstream] = await opened;
  await upstream.closed; // 1 s without a request or an open stream
  const after = await fetch(`${proxy.url}/mcp/brief`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'mcp-session-id': id, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  t.equal(after.status, 404);
});

t.test('`auto` (the default) detects an HTTP+SSE server from the 405 to its initialize POST', async (t) => {
  const { client, upstream } = await connect('alice', 'detected');
  t.teardown(() => client.close());
  t.equal(upstream.headers['x-forwarded-user'], 'alice');
  t.equal(text(await client.callTool({ name: 'count', arguments: { n: 1 } })), 'counted to 1');
  t.ok(proxy.logs().some((l) => l.event === 'mcp.transport_detected' && l.backend === 'detected'));
});

t.test('`auto` in front of a streamable server: a 4xx to a bad initialize is passed on, nothing flips', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/modern`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'content-type': 'application/json', accept: 'application/json' },
    body: INITIALIZE,
  });
  t.equal(res.status, 406, "the server's own answer (it wants both media types)");
  t.notOk(proxy.logs().some((l) => l.event === 'mcp.transport_detected' && l.backend === 'modern'));
  const client = new Client({ name: 'modern', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/modern`), {
    requestInit: { headers: { 'x-api-key': KEYS.alice } },
  });
  await client.connect(transport);
  t.teardown(() => client.close());
  t.match(client.getServerVersion(), { name: 'modern' });
  t.equal(text(await client.callTool({ name: 'hello' })), 'hi');
});

t.test('`streamable` never falls back: the 405 reaches the client', async (t) => {
  const open = server.open;
  const res = await fetch(`${proxy.url}/mcp/strict`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(res.status, 405);
  t.equal(server.open, open, 'no upstream stream opened');
  const client = new Client({ name: 'strict', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/strict`), {
    requestInit: { headers: { 'x-api-key': KEYS.alice } },
  });
  await t.rejects(client.connect(transport));
});

t.test('a request without a session (other than initialize) gets 400', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/legacy`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(res.status, 400);
});

t.test('config: an unknown transport and a bad idleTimeout are refused', async (t) => {
  const { config, problems } = loadConfig({
    doc: {
      session: { keys: [TEST_SESSION_KEY] },
      server: { publicUrl: 'http://127.0.0.1:1' },
      backends: [
        { name: 'ws', http: { url: 'http://127.0.0.1:1/mcp', transport: 'websocket' } },
        { name: 'idle', http: { url: 'http://127.0.0.1:1/sse', transport: 'sse', idleTimeout: 'soon' } },
      ],
    },
    env: {},
  });
  t.notOk(config);
  t.ok(
    problems.some((p) => /transport/.test(p)),
    problems.join('\n'),
  );
  t.ok(
    problems.some((p) => /idleTimeout/.test(p)),
    problems.join('\n'),
  );
});

t.test(
  'a reload that changes the backend: an open session keeps its stream, new ones get the new definition',
  async (t) => {
    const old = await connect('alice');
    const port = Number(new URL(proxy.url).port);
    const changed = backends.map((b) =>
      b.name === 'legacy' ? { ...b, http: { ...b.http, headers: { 'x-generation': '2' } } } : b,
    );
    const { config, problems } = loadConfig({
      doc: {
        session: { keys: [TEST_SESSION_KEY] },
        server: { host: '127.0.0.1', port, logLevel: 'info' },
        apiKeys,
        backends: changed,
      },
    });
    t.ok(config, problems.join('\n'));
    const r = proxy.reload(config!);
    t.ok(r.ok, r.problems?.join('\n') ?? 'reloaded');
    const seen: number[] = [];
    const counted = await old.client.callTool({ name: 'count', arguments: { n: 2 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    t.equal(text(counted), 'counted to 2', 'the session opened before the reload still works');
    t.same(seen, [1, 2]);
    t.equal(old.upstream.headers['x-generation'], undefined);
    const fresh = await connect('bob');
    t.equal(fresh.upstream.headers['x-generation'], '2', 'a new session runs the new definition');
    await old.transport.terminateSession();
    await old.upstream.closed;
    await Promise.all([old.client.close(), fresh.client.close()]);
  },
);

t.test('the REST API over an HTTP+SSE backend (its internal client goes through /mcp/<b>)', async (t) => {
  const listed = await fetch(`${proxy.url}/api/backends/legacy/tools`, { headers: { 'x-api-key': KEYS.alice } });
  t.equal(listed.status, 200);
  const names = ((await listed.json()) as { tools: Array<{ name: string }> }).tools.map((x) => x.name).sort();
  t.same(names, ['ask', 'count', 'whoami']);
  const called = await fetch(`${proxy.url}/api/backends/legacy/tools/call`, {
    method: 'POST',
    headers: { 'x-api-key': KEYS.alice, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'count', arguments: { n: 2 } }),
  });
  t.equal(called.status, 200);
  t.match(await called.text(), /counted to 2/);
});
