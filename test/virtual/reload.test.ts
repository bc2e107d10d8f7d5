// virtualServers is a live key: a reload adds, changes or removes a virtual server; one whose
// definition is unchanged keeps its sessions.
import t from 'tap';
import type { Config } from '../../src/app/config.js';
import { alice, startVirtualStack, tool } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());

t.test('a reload adds a virtual server; the unchanged one keeps its sessions', async (t) => {
  const { client } = await stack.connect(alice);
  t.equal(await tool(client, 'web_echo', { text: 'before' }), 'before');
  const config = stack.proxy.config as Config;
  const next = {
    ...config,
    virtualServers: [...config.virtualServers, { name: 'solo', backends: [{ name: 'mux', prefix: 'm' }] }],
  };
  const r = stack.proxy.reload(next as Config);
  t.equal(r.ok, true, JSON.stringify(r));
  t.equal(await tool(client, 'web_echo', { text: 'after' }), 'after', 'the session on "both" goes on');
  const res = await fetch(`${stack.proxy.url}/mcp/solo`, {
    method: 'POST',
    headers: { ...alice.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
  t.equal(res.status, 200, 'the new virtual server answers');
  t.match(await res.text(), /"name":"solo"/);
});
