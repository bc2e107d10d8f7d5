// Hostile bodies at a virtual server are refused as at any backend route (the pipeline runs before
// it), and names policy cannot read are -32602: no member receives anything.
import t from 'tap';
import { alice, startVirtualStack, tool } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());
const { client, transport } = await stack.connect(alice);
const headers = () => ({
  ...alice.headers,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-session-id': transport.sessionId!,
  'mcp-protocol-version': transport.protocolVersion ?? '2025-11-25',
});
const post = (body: string) =>
  fetch(stack.url, { method: 'POST', headers: headers(), body }).then(async (r) => ({
    status: r.status,
    text: await r.text(),
  }));

/** What the members received while `fn` ran: HTTP requests and stdio tools/call messages (besides `seen`). */
async function reached(fn: () => Promise<void>) {
  const calls = async () => (await tool(client, 'mux_seen', { method: 'tools/call' })).messages.length;
  const [http, mux] = [stack.demo!.seen.length, await calls()];
  await fn();
  return { http: stack.demo!.seen.length - http, mux: (await calls()) - mux - 1 };
}

t.test('malformed bodies: 400 from the pipeline', async (t) => {
  const got = await reached(async () => {
    for (const body of ['{"jsonrpc":"2.0","id":1,"method":"pi', '42', '[1,2]', `${'['.repeat(200)}${']'.repeat(200)}`])
      t.equal((await post(body)).status, 400, body.slice(0, 20));
    const dup = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"web_echo","name":"mux_log"}}';
    t.equal((await post(dup)).status, 400, 'duplicate keys');
  });
  t.same(got, { http: 0, mux: 0 }, 'no member received anything');
});

t.test('names policy cannot read: refused before the virtual server; unknown prefixes: -32602', async (t) => {
  const got = await reached(async () => {
    const send = (name: unknown) =>
      post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } }));
    for (const name of [42, null, { a: 1 }, ['web_echo']]) {
      const res = await send(name);
      t.same([res.status, JSON.parse(res.text).error.code], [400, -32600], JSON.stringify(name));
    }
    for (const name of ['WEB_echo', ' web_echo', 'web', 'mux2_log']) t.match((await send(name)).text, /-32602/, name);
  });
  t.same(got, { http: 0, mux: 0 }, 'no member received anything');
});
