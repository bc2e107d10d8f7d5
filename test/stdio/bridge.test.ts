// stdio backends end to end: SDK client → proxy (session from a real IdP) → SDK stdio server.
import t from 'tap';
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { connect, startStdioStack, stdioBackend, whoami } from '../helpers/stdio-stack.js';

const stack = await startStdioStack([stdioBackend('legacy', 'session')]);
t.teardown(() => stack.close());
const { proxy } = stack;

t.test('initialize, tools, progress, logging, sampling, resources and prompts through the bridge', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const { client } = await connect(`${proxy.url}/mcp/legacy`, cookie, { sampling: {} });
  t.equal(client.getServerVersion()?.name, 'demo-stdio-server');
  const tools = await client.listTools();
  t.ok(tools.tools.some((x) => x.name === 'slow_count'));
  const who = await whoami(client);
  t.same(
    who.meta,
    { sub: 'alice', email: 'alice@example.com', name: 'Alice Example', groups: ['admin', 'support'] },
    'identity in _meta',
  );
  t.equal(who.env.MCP_PROXY_USER_SUB, null, 'per-session processes get no identity env by default');

  const logs: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
  const progress: number[] = [];
  const r = await client.callTool({ name: 'slow_count', arguments: { n: 3, delayMs: 50 } }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  t.same(progress, [1, 2, 3], 'progress notifications reach the caller with its own token');
  t.ok(logs.length >= 3, `logging notifications delivered (${logs.length})`);
  t.match(JSON.stringify(r.content), 'counted to 3');

  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: `42 (asked: ${(req.params.messages[0]!.content as { text: string }).text})` },
  }));
  const sampled = await client.callTool({ name: 'ask_client', arguments: { question: 'meaning of life?' } });
  t.match(JSON.stringify(sampled.content), 'client answered: 42 (asked: meaning of life?)');

  const res = await client.readResource({ uri: 'demo://readme' });
  t.ok(res.contents.length === 1);
  const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Bob' } });
  t.match(JSON.stringify(prompt.messages), 'greet Bob');
  await client.close();
});

t.test('a client-sent _meta identity is replaced', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'bob');
  const { client } = await connect(`${proxy.url}/mcp/legacy`, cookie);
  const r = await client.callTool({
    name: 'whoami',
    arguments: {},
    _meta: { 'io.mcp-oidc-proxy/user': { sub: 'alice', groups: ['admin'] } },
  });
  t.equal((r.structuredContent as any).meta.sub, 'bob');
  await client.close();
});

t.test('bad input gets clear errors and leaves other sessions alone', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const { client } = await connect(`${proxy.url}/mcp/legacy`, cookie);
  const h = { cookie, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const malformed = await fetch(`${proxy.url}/mcp/legacy`, { method: 'POST', headers: h, body: '{"jsonrpc":' });
  t.equal(malformed.status, 400);
  t.match(((await malformed.json()) as any).error.message, /not valid JSON/);
  const noSession = await fetch(`${proxy.url}/mcp/legacy`, {
    method: 'POST',
    headers: h,
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
  });
  t.equal(noSession.status, 400);
  const unknown = await fetch(`${proxy.url}/mcp/legacy`, {
    method: 'POST',
    headers: { ...h, 'mcp-session-id': 'nope' },
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
  });
  t.equal(unknown.status, 404);
  const notRpc = await fetch(`${proxy.url}/mcp/legacy`, {
    method: 'POST',
    headers: { ...h, 'mcp-session-id': (client.transport as any).sessionId, 'mcp-protocol-version': '2025-06-18' },
    body: '{"hello":"world"}',
  });
  t.equal(notRpc.status, 400, 'a non-JSON-RPC body is refused');
  t.ok((await client.listTools()).tools.length > 0, 'the session still works');
  await client.close();
});
