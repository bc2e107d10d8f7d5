// Each member's policy applies to its part of a virtual server, per principal: a tool the
// principal may not call is neither listed nor callable, and the refusal is audited at the member.
// A virtual session belongs to the principal that opened it.
import t from 'tap';
import { alice, bob, startVirtualStack, tool } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());

t.test('rules of the HTTP member per user', async (t) => {
  const a = await stack.connect(alice);
  const b = await stack.connect(bob);
  const names = async (c: typeof a) => (await c.client.listTools()).tools.map((x) => x.name);
  t.ok((await names(a)).includes('web_delete_everything'), 'alice (admin) sees web_delete_everything');
  const bobs = await names(b);
  t.notOk(bobs.includes('web_delete_everything'), 'bob does not');
  t.ok(bobs.includes('web_echo') && bobs.includes('mux_log'), 'bob sees the rest');
  t.match(await tool(a.client, 'web_delete_everything'), /nothing deleted/);
  const before = stack.demo!.seen.length;
  const e = await b.client.callTool({ name: 'web_delete_everything', arguments: {} }).catch((x) => x);
  t.equal(e.code, -32003, 'bob is refused with the policy code');
  t.equal(stack.demo!.seen.length, before, 'the refused call never reached the member');
  const denied = stack.proxy
    .logs()
    .find((l) => l.audit && l.decision === 'deny' && l.backend === 'web' && l.name === 'delete_everything');
  t.ok(denied, 'audited as a deny at the member, with the name it knows');
});

t.test('another principal presenting a session id gets 404', async (t) => {
  const a = await stack.connect(alice);
  const res = await fetch(stack.url, {
    method: 'POST',
    headers: {
      ...bob.headers,
      'mcp-session-id': a.transport.sessionId!,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(res.status, 404);
  await res.text();
});

t.test('a handoff header from outside is refused, even with a valid credential', async (t) => {
  const res = await fetch(`${stack.proxy.url}/mcp/web`, {
    method: 'POST',
    headers: {
      ...bob.headers,
      'x-mcp-proxy-virtual': 'guess',
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(res.status, 401);
  await res.text();
});

t.test('anonymous requests to the virtual server are challenged', async (t) => {
  const res = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.equal(res.status, 401);
  t.match(res.headers.get('www-authenticate'), /oauth-protected-resource\/mcp\/both/);
  await res.text();
  const meta = await fetch(`${stack.proxy.url}/.well-known/oauth-protected-resource/mcp/both`);
  t.equal(((await meta.json()) as { resource: string }).resource, stack.url, 'its own protected resource');
});
