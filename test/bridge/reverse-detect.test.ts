// The reverse bridge's detection (src/bridge/reverse/detect.ts): found once per backend, kept,
// and found again after the backend failed — here a 2025 server replaced by a 2026-07-28-only
// one on the same port, and back. Also the idle end of sessions the proxy holds.
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { IDLE_MS, ReverseSession, ReverseSessions } from '../../src/bridge/reverse/session.js';
import { apiKey } from '../helpers/hostile.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { startStatelessServer } from '../helpers/stateless-server.js';

const ALICE = apiKey('alice', 'alice');

t.test('a backend replaced by one of the other revision is found out after it failed', async (t) => {
  const port = await freePort();
  let legacy = await startDemoHttpServer({ port });
  const proxy = await startProxy({
    apiKeys: [ALICE.config],
    backends: [{ name: 'b', http: { url: `http://127.0.0.1:${port}/mcp` } }],
  });
  t.teardown(() => proxy.close());
  const connect = async () => {
    const client = new Client({ name: 'detect-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/b`), {
      requestInit: { headers: ALICE.headers },
    });
    await client.connect(transport);
    return { client, transport };
  };

  const first = await connect();
  t.notMatch(first.transport.sessionId, /^r\./, 'a 2025 server: forwarded natively');
  t.ok((await first.client.listTools()).tools.length > 0);
  await first.client.close();
  await legacy.close();

  await t.rejects(connect(), 'nothing listens: the backend failed (and the finding is forgotten)');
  const modern = await startStatelessServer(port);
  const second = await connect();
  t.match(second.transport.sessionId, /^r\./, 'the 2026-07-28-only server behind it now: bridged');
  t.equal(second.client.getServerVersion()?.name, 'stateless-test');
  t.equal(modern.seen.filter((s) => s.method === 'initialize').length, 1);
  await second.client.close();
  await modern.close();

  await t.rejects(connect(), 'failed again');
  legacy = await startDemoHttpServer({ port });
  t.teardown(() => legacy.close());
  const third = await connect();
  t.notMatch(third.transport.sessionId, /^r\./, 'a 2025 server again: native again');
  await third.client.close();
});

t.test('an idle session without a GET stream ends when another starts', async (t) => {
  let now = 0;
  const sessions = new ReverseSessions(10, () => now);
  const idle = new ReverseSession('idle', 'alice', {}, undefined);
  const streaming = new ReverseSession('streaming', 'alice', {}, undefined);
  sessions.add(idle);
  sessions.add(streaming);
  streaming.stream = new (await import('node:stream')).PassThrough();
  now = IDLE_MS + 1;
  sessions.add(new ReverseSession('fresh', 'bob', {}, undefined));
  t.equal(sessions.get('idle'), undefined, 'ended');
  t.equal(sessions.get('streaming'), streaming, 'a session with a GET stream stays');
  t.equal(sessions.size, 2);
  t.same(
    sessions.ownedBy('alice').map((s) => s.id),
    ['streaming'],
  );
});
