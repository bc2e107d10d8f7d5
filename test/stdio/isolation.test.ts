// Isolation modes with two real users: who gets which process, and whose identity it sees.
import t from 'tap';
import { loginThroughProxy } from '../helpers/session-client.js';
import { connect, startStdioStack, stdioBackend, whoami } from '../helpers/stdio-stack.js';
import { childEnv } from '../../src/backends/stdio/child.js';

const stack = await startStdioStack([
  stdioBackend('per-session', 'session'),
  stdioBackend('per-user', 'user'),
  stdioBackend('shared', 'shared'),
]);
t.teardown(() => stack.close());
const { proxy } = stack;
const alice = (await loginThroughProxy(proxy.url, 'alice')).cookie;
const bob = (await loginThroughProxy(proxy.url, 'bob')).cookie;

t.test('session isolation: a process per MCP session', async (t) => {
  const a1 = await connect(`${proxy.url}/mcp/per-session`, alice);
  const a2 = await connect(`${proxy.url}/mcp/per-session`, alice);
  const b1 = await connect(`${proxy.url}/mcp/per-session`, bob);
  const [w1, w2, w3] = await Promise.all([whoami(a1.client), whoami(a2.client), whoami(b1.client)]);
  t.not(w1.pid, w2.pid, "alice's two sessions have two processes");
  t.not(w1.pid, w3.pid);
  t.equal(w1.meta.sub, 'alice');
  t.equal(w3.meta.sub, 'bob');
  for (const c of [a1, a2, b1]) await c.client.close();
});

t.test('user isolation: one process per user, identity in env and _meta', async (t) => {
  const a1 = await connect(`${proxy.url}/mcp/per-user`, alice);
  const a2 = await connect(`${proxy.url}/mcp/per-user`, alice);
  const b1 = await connect(`${proxy.url}/mcp/per-user`, bob);
  const [w1, w2, w3] = await Promise.all([whoami(a1.client), whoami(a2.client), whoami(b1.client)]);
  t.equal(w1.pid, w2.pid, "alice's sessions share her process");
  t.not(w1.pid, w3.pid, "bob never reaches alice's process");
  t.same(w1.env, {
    MCP_PROXY_USER_SUB: 'alice',
    MCP_PROXY_USER_EMAIL: 'alice@example.com',
    MCP_PROXY_USER_GROUPS: 'admin,support',
  });
  t.same(w3.env, {
    MCP_PROXY_USER_SUB: 'bob',
    MCP_PROXY_USER_EMAIL: 'bob@example.com',
    MCP_PROXY_USER_GROUPS: 'support',
  });
  t.equal(w3.meta.sub, 'bob');
  // Both sessions on one child keep their own ids and progress.
  const progress: number[][] = [[], []];
  const calls = [a1, a2].map((c, i) =>
    c.client.callTool({ name: 'slow_count', arguments: { n: 3, delayMs: 30 } }, undefined, {
      onprogress: (p) => progress[i]!.push(p.progress),
    }),
  );
  await Promise.all(calls);
  t.same(
    progress,
    [
      [1, 2, 3],
      [1, 2, 3],
    ],
    'progress routed to the session that asked',
  );
  for (const c of [a1, a2, b1]) await c.client.close();
});

t.test('shared isolation: one process for everyone, identity still per request', async (t) => {
  const a = await connect(`${proxy.url}/mcp/shared`, alice);
  const b = await connect(`${proxy.url}/mcp/shared`, bob);
  const [wa, wb] = await Promise.all([whoami(a.client), whoami(b.client)]);
  t.equal(wa.pid, wb.pid);
  t.equal(wa.meta.sub, 'alice');
  t.equal(wb.meta.sub, 'bob');
  t.equal(wa.env.MCP_PROXY_USER_SUB, null, 'no per-user env in a shared process');
  await a.client.close();
  await b.client.close();
});

t.test("another user's session id gets 404 and is logged", async (t) => {
  const a = await connect(`${proxy.url}/mcp/per-user`, alice);
  const sid = (a.transport as { sessionId?: string }).sessionId!;
  const res = await fetch(`${proxy.url}/mcp/per-user`, {
    method: 'POST',
    headers: {
      cookie: bob,
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-06-18',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}',
  });
  t.equal(res.status, 404);
  t.ok(proxy.logs().some((l) => l.event === 'mcp.session_foreign' && l.sub === 'bob'));
  t.equal((await whoami(a.client)).meta.sub, 'alice', "alice's session is unaffected");
  await a.client.close();
});

t.test("a child's environment is the configured env plus a minimal safe set", async (t) => {
  process.env.OIDC_CLIENT_SECRET = 'must-not-leak';
  const env = childEnv({ API_URL: 'http://x' }, { MCP_PROXY_USER_SUB: 'alice' });
  t.equal(env.API_URL, 'http://x');
  t.equal(env.MCP_PROXY_USER_SUB, 'alice');
  t.equal(env.OIDC_CLIENT_SECRET, undefined);
  t.equal(env.PATH, process.env.PATH);
  delete process.env.OIDC_CLIENT_SECRET;
});
