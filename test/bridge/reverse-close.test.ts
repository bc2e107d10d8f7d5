// The reverse bridge at shutdown: a `subscriptions/listen` stream the server acknowledges only after the
// session ended (its client's GET stream closed just before the proxy did) is stopped, so no upstream stream
// is left open and the proxy's close completes (the conformance table's teardown once waited on one forever).
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { apiKey } from '../helpers/hostile.js';
import { startProxy } from '../helpers/proxy.js';
import { startStatelessServer } from '../helpers/stateless-server.js';

const ALICE = apiKey('alice', 'alice');
const server = await startStatelessServer();
t.teardown(() => server.close());

t.test('a listen stream acknowledged after its session ended is stopped; close completes', async (t) => {
  const proxy = await startProxy({
    apiKeys: [ALICE.config],
    backends: [{ name: 'fixed', http: { url: server.url, protocol: '2026-07-28' } }],
  });
  const client = new Client({ name: 'reverse-close', version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/fixed`), {
    requestInit: { headers: ALICE.headers },
  });
  await client.connect(transport);
  // The GET stream is open: the session listens for list changes.
  await server.listenersAre([{ toolsListChanged: true }]);
  await client.subscribeResource({ uri: 'test://watched' });
  await server.listenersAre([{ toolsListChanged: true, resourceSubscriptions: ['test://watched'] }]);

  const release = server.holdAcks();
  // The client leaves (its GET stream closes): the session now listens for its subscription only, a new
  // stream the server does not acknowledge yet; the old one stays until it does.
  await client.close();
  await server.listenersAre([
    { toolsListChanged: true, resourceSubscriptions: ['test://watched'] },
    { resourceSubscriptions: ['test://watched'] },
  ]);
  // The proxy shuts down: the session ends, its acknowledged stream with it.
  const closed = proxy.close();
  await server.listenersAre([{ resourceSubscriptions: ['test://watched'] }]);
  // Only now does the server acknowledge the new stream: the ended session stops it at once.
  release();
  await server.listenersAre([]);
  await closed;
  t.pass('the proxy closed with no upstream stream left open');
});
