// Lifecycle of stdio children with real processes: crash mid-call, hang on initialize,
// idle reaping, maxProcesses, and shutdown leaving no process behind.
import t from 'tap';
import { loginThroughProxy } from '../helpers/session-client.js';
import { connect, demoChildren, startStdioStack, stdioBackend, whoami } from '../helpers/stdio-stack.js';

const hang = {
  name: 'hang',
  stdio: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], requestTimeout: '1s' },
};
const stack = await startStdioStack([
  stdioBackend('crashy', 'session'),
  stdioBackend('idle', 'session', { idleTimeout: '1s' }),
  stdioBackend('small', 'session', { maxProcesses: 1 }),
  hang,
  { name: 'missing', stdio: { command: '/nonexistent/server' } },
]);
t.teardown(() => stack.close());
const { proxy } = stack;
const cookie = (await loginThroughProxy(proxy.url, 'alice')).cookie;

t.test('a crash mid-call answers the call, ends the session, and is logged with stderr', async (t) => {
  const { client, transport } = await connect(`${proxy.url}/mcp/crashy`, cookie);
  const sid = (transport as { sessionId?: string }).sessionId!;
  await t.rejects(
    client.callTool({ name: 'crash', arguments: {} }),
    /exited/,
    'the pending call gets a JSON-RPC error, nothing hangs',
  );
  const next = await fetch(`${proxy.url}/mcp/crashy`, {
    method: 'POST',
    headers: {
      cookie,
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-06-18',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
  });
  t.equal(next.status, 404, 'the session is gone: the client re-initializes');
  const crash = proxy.logs().find((l) => l.event === 'stdio.exit' && l.code === 3);
  t.ok(crash, 'the exit is logged');
  t.match(JSON.stringify(crash?.stderr), 'crashing on purpose', 'with the last stderr lines');
  const again = await connect(`${proxy.url}/mcp/crashy`, cookie);
  t.equal((await whoami(again.client)).meta.sub, 'alice', 'a new session works');
  await again.client.close();
});

t.test('a server that never answers initialize is killed after requestTimeout', async (t) => {
  const started = Date.now();
  await t.rejects(connect(`${proxy.url}/mcp/hang`, cookie), /did not answer initialize/);
  t.ok(Date.now() - started < 5000);
  await new Promise((r) => setTimeout(r, 200));
  t.ok(proxy.logs().some((l) => l.event === 'stdio.timeout' && l.method === 'initialize'));
  t.ok(
    proxy.logs().some((l) => l.event === 'stdio.exit' && l.signal === 'SIGTERM'),
    'the hung process was stopped',
  );
});

t.test('idle sessions and their processes are reaped', async (t) => {
  const { client } = await connect(`${proxy.url}/mcp/idle`, cookie);
  const { pid } = await whoami(client);
  t.ok((await demoChildren()).includes(pid));
  const deadline = Date.now() + 8000;
  while ((await demoChildren()).includes(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.notOk((await demoChildren()).includes(pid), 'the idle process is gone');
  t.ok(proxy.logs().some((l) => l.event === 'stdio.exit' && l.pid === pid));
});

t.test('maxProcesses answers 503 with a JSON-RPC error when full; DELETE frees the slot', async (t) => {
  const first = await connect(`${proxy.url}/mcp/small`, cookie);
  const res = await fetch(`${proxy.url}/mcp/small`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }),
  });
  t.equal(res.status, 503);
  const body = (await res.json()) as any;
  t.equal(body.jsonrpc, '2.0');
  t.match(body.error.message, /at capacity/);
  await first.transport.terminateSession();
  await first.client.close();
  // The slot is free once the old child has exited: on a loaded machine that takes a moment.
  let second: Awaited<ReturnType<typeof connect>> | undefined;
  for (const deadline = Date.now() + 8000; !second && Date.now() < deadline; ) {
    second = await connect(`${proxy.url}/mcp/small`, cookie).catch(async (e: { code?: number }) => {
      if (e.code !== 503) throw e;
      await new Promise((r) => setTimeout(r, 200));
      return undefined;
    });
  }
  if (!second) return t.fail('the slot was never freed');
  t.ok((await whoami(second.client)).pid, 'after DELETE a new session fits');
  await second.client.close();
});

t.test('readyz reports a stdio command that cannot start', async (t) => {
  const ready = (await (await fetch(`${proxy.url}/readyz`)).json()) as any;
  t.equal(ready.backends.missing.ok, false);
  t.match(ready.backends.missing.detail, 'command not found');
  t.equal(ready.backends.crashy.ok, true);
});

t.test('shutdown stops every child: no orphans', async (t) => {
  const clients = await Promise.all([1, 2, 3].map(() => connect(`${proxy.url}/mcp/crashy`, cookie)));
  await Promise.all(clients.map((c) => whoami(c.client)));
  const running = await demoChildren();
  t.ok(running.length >= 3, `${running.length} children running before shutdown`);
  await proxy.close();
  const after = await demoChildren();
  t.same(after, [], `no child left after shutdown (before: ${running.length}, after: ${after.length})`);
  t.comment(`process count before shutdown: ${running.length}, after: ${after.length}`);
});
