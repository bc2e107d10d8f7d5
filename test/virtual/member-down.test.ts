// A member that cannot be reached leaves its part out (with a warning in the log) while the others
// work; it comes back on a later list once it is up.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { freePort } from '../helpers/ports.js';
import { alice, startVirtualStack, tool } from '../helpers/virtual-stack.js';

const port = await freePort();
const stack = await startVirtualStack({ webUrl: `http://127.0.0.1:${port}/mcp` });
t.teardown(() => stack.close());

t.test('the HTTP member down: the stdio member still works', async (t) => {
  const { client } = await stack.connect(alice);
  const names = (await client.listTools()).tools.map((x) => x.name);
  t.ok(names.includes('mux_log'), 'the stdio part is there');
  t.notOk(
    names.some((n) => n.startsWith('web_')),
    'the HTTP part is missing',
  );
  t.equal(await tool(client, 'mux_log', { text: 'x' }), 'logged');
  const warned = stack.proxy.logs().find((l) => l.event === 'virtual.member_down' && l.backend === 'web');
  t.ok(warned, 'a warning names the member');
  t.equal(warned?.level, 40);
  const e = await client.callTool({ name: 'web_echo', arguments: { text: 'x' } }).catch((x) => x);
  t.ok(e instanceof Error, 'a call to the missing member fails');

  // The member comes up: the next list includes it.
  const demo = await startDemoHttpServer({ port });
  const again = (await client.listTools()).tools.map((x) => x.name);
  t.ok(again.includes('web_echo'), 'its tools are back');
  t.equal(await tool(client, 'web_echo', { text: 'back' }), 'back');

  // The member restarts and forgets its sessions: one call fails, the next list reconnects it.
  await demo.close();
  const restarted = await startDemoHttpServer({ port });
  t.teardown(() => restarted.close());
  const lost = await client.callTool({ name: 'web_echo', arguments: { text: 'x' } }).catch((x) => x);
  t.ok(lost instanceof Error, 'the call on the lost member session fails');
  t.ok(
    (await client.listTools()).tools.some((x) => x.name === 'web_echo'),
    'listed again',
  );
  t.equal(await tool(client, 'web_echo', { text: 'again' }), 'again', 'on a new member session');
});

t.test('a member that answers errors is left out of lists, not fatal', async (t) => {
  const broken = http.createServer((_req, res) => res.writeHead(500).end('no'));
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  t.teardown(() => broken.close());
  const other = await startVirtualStack({
    webUrl: `http://127.0.0.1:${(broken.address() as AddressInfo).port}/mcp`,
  });
  t.teardown(() => other.close());
  const { client } = await other.connect(alice);
  const names = (await client.listTools()).tools.map((x) => x.name);
  t.ok(names.length > 0 && names.every((n) => n.startsWith('mux_')));
});

t.test('DELETE ends the virtual session and its member sessions', async (t) => {
  const { client, transport } = await stack.connect(alice);
  await client.listTools();
  const virtual = stack.proxy.backends.get('both');
  const mux = stack.proxy.backends.get('mux');
  const [v, m] = [virtual.stats().sessions, mux.stats().sessions];
  await transport.terminateSession();
  t.equal(virtual.stats().sessions, v - 1, 'the virtual session ended');
  t.equal(mux.stats().sessions, m - 1, "and the stdio member's");
});
