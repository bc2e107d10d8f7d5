// The reverse bridge with two replicas sharing a real Redis, behind a round-robin front: the
// session lives in the replica that answered `initialize`; requests reaching the other one are
// relayed there (src/mcp/replicas.ts), answers to input requests and the GET stream included.
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startRedis } from '../helpers/db-servers.js';
import { apiKey } from '../helpers/hostile.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { startStatelessServer } from '../helpers/stateless-server.js';

const ALICE = apiKey('alice', 'alice');
const redis = await startRedis();
t.teardown(() => redis.close());
const server = await startStatelessServer();
t.teardown(() => server.close());

const ports = [await freePort(), await freePort()];
const counts = new Map<number, number>(ports.map((p) => [p, 0]));
let next = 0;
const front = http.createServer((req, res) => {
  const port = ports[next++ % ports.length]!;
  counts.set(port, counts.get(port)! + 1);
  const upstream = http.request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});
await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
const publicUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
t.teardown(() => {
  front.closeAllConnections();
  front.close();
});

for (const port of ports) {
  const proxy = await startProxy({
    server: { port, publicUrl, advertiseUrl: `http://127.0.0.1:${port}` },
    store: { kind: 'redis', url: redis.url },
    apiKeys: [ALICE.config],
    backends: [{ name: 'new', http: { url: server.url, protocol: '2026-07-28' } }],
  });
  t.teardown(() => proxy.close());
}

t.test('one bridged session, its requests spread over both replicas', async (t) => {
  const client = new Client({ name: 'replicas', version: '1' }, { capabilities: { elicitation: {} } });
  const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp/new`), {
    requestInit: { headers: ALICE.headers },
  });
  await client.connect(transport);
  t.match(transport.sessionId, /^r\./);
  for (let i = 0; i < 4; i++) {
    const r = await client.callTool({ name: 'echo', arguments: { text: `n${i}` } });
    t.same(r.content, [{ type: 'text', text: `n${i}` }]);
  }
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
  for (let i = 0; i < 2; i++) {
    const r = await client.callTool({ name: 'ask_name', arguments: {} });
    t.same(r.content, [{ type: 'text', text: 'hello Ada (asked-once)' }], 'the answer found its session');
  }
  // The client's GET stream is open (a listen stream for list changes exists) before subscribing.
  if (!server.listeners().length) await new Promise((r) => server.events.once('listeners', r));
  const updated = new Promise<string>((r) =>
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => r(n.params.uri)),
  );
  await client.subscribeResource({ uri: 'test://doc' });
  await client.callTool({ name: 'touch', arguments: { uri: 'test://doc' } });
  t.equal(await updated, 'test://doc', 'on the GET stream, wherever it was opened');
  t.ok(
    [...counts.values()].every((n) => n > 2),
    'both replicas took requests',
  );
  await transport.terminateSession();
  await client.close();
});
