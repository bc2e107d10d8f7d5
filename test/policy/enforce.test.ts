// Policy through the real proxy: denied calls never reach the backend, lists are filtered
// (HTTP backend answering with SSE, and a stdio backend), the allow list refuses whole
// backends, and every request leaves an audit line.
import t from 'tap';
import { loginThroughProxy } from '../helpers/session-client.js';
import { connect, DEMO_STDIO } from '../helpers/stdio-stack.js';
import { startStack } from '../helpers/stack.js';

const rules = {
  allow: { groups: ['support'] },
  tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: 'crash', deny: true }, { match: '*' }],
};
const stack = await startStack({
  consent: false,
  backends: (url) => [
    { name: 'tickets', http: { url }, ...rules },
    { name: 'legacy', stdio: { command: process.execPath, args: [DEMO_STDIO] }, ...rules },
    { name: 'admins', http: { url }, allow: { groups: ['admin'] } },
  ],
});
t.teardown(() => stack.close());
const { proxy, backend } = stack;
const alice = (await loginThroughProxy(proxy.url, 'alice')).cookie; // admin, support
const bob = (await loginThroughProxy(proxy.url, 'bob')).cookie; // support
const audits = () => proxy.logs().filter((l) => l.audit === true) as any[];

for (const name of ['tickets', 'legacy']) {
  t.test(`${name}: bob sees and may call only what policy allows`, async (t) => {
    const { client } = await connect(`${proxy.url}/mcp/${name}`, bob);
    const tools = (await client.listTools()).tools.map((x) => x.name).sort();
    t.notOk(tools.includes('delete_everything'), 'delete_* is filtered from tools/list');
    t.notOk(tools.includes('crash'), 'a denied tool is filtered too');
    t.ok(tools.includes('whoami') && tools.includes('echo'));
    const seenBefore = backend.seen.length;
    await t.rejects(
      client.callTool({ name: 'delete_everything', arguments: {} }),
      /access denied: you may not use tool "delete_everything"/,
    );
    if (name === 'tickets') t.equal(backend.seen.length, seenBefore, 'the backend never saw the denied call');
    t.match(JSON.stringify((await client.callTool({ name: 'echo', arguments: { text: 'ok' } })).content), 'ok');
    await client.close();
  });

  t.test(`${name}: alice (admin) may delete`, async (t) => {
    const { client } = await connect(`${proxy.url}/mcp/${name}`, alice);
    t.ok((await client.listTools()).tools.some((x) => x.name === 'delete_everything'));
    t.match(
      JSON.stringify((await client.callTool({ name: 'delete_everything', arguments: {} })).content),
      'nothing deleted',
    );
    await client.close();
  });
}

t.test('a backend whose allow list excludes you answers 403', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/admins`, {
    method: 'POST',
    headers: { cookie: bob, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }),
  });
  t.equal(res.status, 403);
  const body = (await res.json()) as any;
  t.equal(body.id, 1);
  t.match(body.error.message, /you may not use backend "admins"/);
  t.notMatch(JSON.stringify(body), /groups|rule/, 'no policy internals in the answer');
});

t.test('audit lines, field by field', async (t) => {
  await new Promise((r) => setTimeout(r, 100));
  const denied = audits().find(
    (a) => a.decision === 'deny' && a.name === 'delete_everything' && a.backend === 'tickets',
  );
  t.ok(denied, 'the denied call is audited');
  t.equal(denied.principal.sub, 'bob');
  t.equal(denied.principal.email, 'bob@example.com');
  t.equal(denied.principal.source, 'session');
  t.equal(denied.method, 'tools/call');
  t.equal(denied.rule, 'tools[0] delete_*');
  t.equal(denied.status, 200);
  t.type(denied.latencyMs, 'number');
  t.ok(Date.parse(denied.time), 'a timestamp');
  t.notOk('arguments' in denied, 'arguments are not written');
  const allowed = audits().find(
    (a) => a.decision === 'allow' && a.name === 'delete_everything' && a.principal.sub === 'alice',
  );
  t.ok(allowed);
  const refused = audits().find((a) => a.backend === 'admins');
  t.equal(refused.decision, 'deny');
  t.equal(refused.status, 403);
  t.ok(
    audits().some((a) => a.method === 'tools/list'),
    'list calls are audited',
  );
});

t.test('a batch containing a refused call is refused whole, before the backend', async (t) => {
  const seen = backend.seen.length;
  const res = await fetch(`${proxy.url}/mcp/tickets`, {
    method: 'POST',
    headers: {
      cookie: bob,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-03-26',
    },
    body: JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'a' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'delete_everything', arguments: {} } },
    ]),
  });
  t.equal(res.status, 403);
  t.match(((await res.json()) as any).error.message, /batch contains a call you may not make/);
  t.equal(backend.seen.length, seen);
});
