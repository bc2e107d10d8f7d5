// MCP traffic through the proxy with a browser session: the real SDK client, SSE streaming,
// backend failures, key rotation and upstream token refresh.
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { loginThroughProxy, mcpSession, readRpc } from '../helpers/session-client.js';
import { CLIENT_ID, CLIENT_SECRET, startStack } from '../helpers/stack.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/store.js';

const NEW_KEY = Buffer.alloc(32, 3).toString('base64');

// One store for every proxy of this file: a cookie is a session where its record is (as replicas share one store).
const store = new MemoryStore();
const sharedStore: Store = {
  get: (k) => store.get(k),
  set: (k, v, ttl) => store.set(k, v, ttl),
  delete: (k) => store.delete(k),
  claim: (k, ttl) => store.claim(k, ttl),
  close: async () => undefined,
};
const real = await startStack({ consent: false, deps: { store: sharedStore } });
t.teardown(() => real.close());
const { proxy } = real;
/** The other proxies of this file log in at the same IdP (a config with no way in is refused). */
const login = { oidc: { issuer: real.idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } };

async function sdkClient(url: string, cookie: string) {
  const client = new Client({ name: 'sdk-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { cookie } } });
  await client.connect(transport);
  return { client, transport };
}

t.test('the SDK client calls a tool through the proxy with the session cookie', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const { client } = await sdkClient(`${proxy.url}/mcp/demo`, cookie);
  const tools = await client.listTools();
  t.ok(tools.tools.some((x) => x.name === 'whoami'));
  const who = await client.callTool({ name: 'whoami', arguments: {} }, CallToolResultSchema);
  const s = who.structuredContent as any;
  t.equal(s.user, 'alice');
  t.same(s.groups, ['admin', 'support']);
  t.equal(s.assertion.valid, true);
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'héllo' } });
  t.match(JSON.stringify(echo.content), 'héllo');
  await client.close();
});

t.test('the default backend answers at /mcp too, and SSE progress streams before the result', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'bob');
  const { client } = await sdkClient(`${proxy.url}/mcp`, cookie);
  const progressAt: number[] = [];
  const started = Date.now();
  const result = await client.callTool(
    { name: 'slow_count', arguments: { n: 3, delayMs: 300 } },
    CallToolResultSchema,
    {
      onprogress: () => progressAt.push(Date.now() - started),
    },
  );
  const doneAt = Date.now() - started;
  t.equal(progressAt.length, 3, 'three progress notifications');
  t.ok(
    progressAt[0]! < doneAt - 500,
    `first progress (${progressAt[0]} ms) well before the result (${doneAt} ms): not buffered`,
  );
  t.match(JSON.stringify(result.content), 'counted to 3');
  await client.close();
});

t.test('a GET SSE stream opens through the proxy', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const mcp = await mcpSession(`${proxy.url}/mcp/demo`, { cookie });
  const ac = new AbortController();
  const t0 = Date.now();
  const res = await fetch(`${proxy.url}/mcp/demo`, {
    headers: { ...mcp.headers, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', 'text/event-stream');
  t.ok(Date.now() - t0 < 5000, 'the stream head arrives at once, before any event');
  ac.abort();
  const r = await mcp.call('tools/call', { name: 'echo', arguments: { text: 'still fine' } });
  t.match(JSON.stringify(await readRpc(r)), 'still fine');
});

t.test('session keys rotate: an old-key cookie still works and is re-issued with the new key', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const { startProxy } = await import('../helpers/proxy.js');
  const rotated = await startProxy(
    {
      ...login,
      session: { keys: [NEW_KEY, TEST_SESSION_KEY] },
      backends: [{ name: 'demo', http: { url: real.backend.url } }],
    },
    { store: sharedStore },
  );
  t.teardown(() => rotated.close());
  const res = await fetch(`${rotated.url}/oauth/status`, { headers: { cookie } });
  t.equal(((await res.json()) as any).authenticated, true, 'the old key still decrypts');
  const reissued = res.headers.getSetCookie().find((c) => c.startsWith('mcp_proxy_session='));
  t.ok(reissued, 'the cookie is re-issued');
  const onlyNew = await startProxy(
    { ...login, session: { keys: [NEW_KEY] }, backends: [{ name: 'demo', http: { url: real.backend.url } }] },
    { store: sharedStore },
  );
  t.teardown(() => onlyNew.close());
  const again = await fetch(`${onlyNew.url}/oauth/status`, { headers: { cookie: reissued!.split(';')[0]! } });
  t.equal(((await again.json()) as any).authenticated, true, 'the re-issued cookie is sealed with the new key');
  const old = await fetch(`${onlyNew.url}/oauth/status`, { headers: { cookie } });
  t.equal(((await old.json()) as any).authenticated, false, 'a retired key no longer opens old cookies');
});

t.test('backend down → 502 with a JSON-RPC error naming the backend', async (t) => {
  const { startProxy } = await import('../helpers/proxy.js');
  const p = await startProxy(
    { ...login, backends: [{ name: 'down', http: { url: 'http://127.0.0.1:9/mcp' } }] },
    { store: sharedStore },
  );
  t.teardown(() => p.close());
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const res = await fetch(`${p.url}/mcp/down`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
  });
  t.equal(res.status, 502);
  const body = (await res.json()) as any;
  t.equal(body.jsonrpc, '2.0');
  t.match(body.error.message, /backend "down" is unavailable/);
  t.notMatch(JSON.stringify(body), /ECONNREFUSED|at .*\.ts/, 'no internals or stack traces');
});
