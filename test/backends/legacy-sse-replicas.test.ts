/**
 * HTTP+SSE backend sessions live in the replica that opened them: two proxies sharing a real
 * Redis, the SDK client's requests alternating between them, one session works end to end
 * (progress, sampling, its GET stream) with one upstream stream; the other replica relays.
 */
import t from 'tap';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startRedis } from '../helpers/db-servers.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { type LegacySession, startLegacySseServer } from '../helpers/legacy-sse-server.js';

const KEY = 'legacy-sse-replicas-key';
const redis = await startRedis();
t.teardown(() => redis.close());
const server = await startLegacySseServer();
t.teardown(() => server.close());

async function replica() {
  const port = await freePort();
  return startProxy({
    server: { port, advertiseUrl: `http://127.0.0.1:${port}` },
    store: { kind: 'redis', url: redis.url },
    apiKeys: [{ name: 'carol', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'carol' }],
    backends: [
      {
        name: 'legacy',
        http: { url: server.url, transport: 'sse' },
        tools: [{ match: '*', allow: { apiKeys: ['carol'] } }],
      },
    ],
  });
}
const a = await replica();
const b = await replica();
t.teardown(() => Promise.all([a.close(), b.close()]));

t.test('one session, requests spread over two replicas', async (t) => {
  // Every request goes to the next replica in turn (the initialize to the first).
  const origins = [new URL(a.url).origin, new URL(b.url).origin];
  const hits = [0, 0];
  let next = 0;
  const roundRobin: typeof fetch = (input, init) => {
    const i = next++ % 2;
    hits[i]!++;
    const url = new URL(String(input instanceof Request ? input.url : input));
    return fetch(origins[i] + url.pathname + url.search, init);
  };
  const client = new Client({ name: 'rr', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'green' },
    model: 'test',
  }));
  const transport = new StreamableHTTPClientTransport(new URL(`${a.url}/mcp/legacy`), {
    requestInit: { headers: { 'x-api-key': KEY } },
    fetch: roundRobin,
  });
  const opened = once(server.events, 'open') as Promise<[LegacySession]>;
  await client.connect(transport);
  const [upstream] = await opened;
  const seen: number[] = [];
  const counted = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, {
    onprogress: (p) => seen.push(p.progress),
  });
  t.equal((counted.content as any)[0].text, 'counted to 3');
  t.same(seen, [1, 2, 3]);
  t.equal(((await client.callTool({ name: 'ask' })).content as any)[0].text, 'client said: green');
  t.equal((await client.listTools()).tools.length, 4);
  t.ok(hits[0]! > 0 && hits[1]! > 0, `both replicas took requests (${hits.join(', ')})`);
  t.equal(server.open, 1, 'one upstream stream for the session');
  await transport.terminateSession();
  await upstream.closed;
  await client.close();
});
