/**
 * Several replicas: three proxy processes (the real CLI) sharing a real Redis, behind a
 * round-robin front in this test that sends every request to the next replica. One MCP
 * session on a stdio backend (its child process lives in one replica) works end to end with
 * its requests spread over all three; a browser login and an MCP client's whole OAuth flow
 * work with their steps on different replicas; when the replica holding a session stops,
 * the others answer 404 for it and the client's next initialize works.
 */
import t from 'tap';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { startRedis } from '../helpers/db-servers.js';
import { connectWithOAuth } from '../helpers/oauth-client.js';
import { freePort } from '../helpers/ports.js';
import { signingKeyFile } from '../helpers/stack.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { BIN, exited, startAndWait } from '../helpers/spawn.js';
import { DEMO_STDIO, connect, whoami } from '../helpers/stdio-stack.js';

const redis = await startRedis();
t.teardown(() => redis.close());
const dir = mkdtempSync(join(tmpdir(), 'replicas-test-'));
const keyFile = await signingKeyFile();

// The front: round robin over the replicas that are up, request by request, counted.
const ports = [await freePort(), await freePort(), await freePort()];
const down = new Set<number>();
const counts = new Map<number, number>(ports.map((p) => [p, 0]));
let next = 0;
const front = http.createServer((req, res) => {
  const up = ports.filter((p) => !down.has(p));
  const port = up[next++ % up.length]!;
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

const idp = await startStandaloneIdp({
  consent: false,
  clients: [
    {
      client_id: 'replicas',
      client_secret: 'replicas-secret-123',
      redirect_uris: [`${publicUrl}/oauth/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
    },
  ],
});
t.teardown(() => idp.close());

const replicas: ChildProcess[] = [];
for (const port of ports) {
  const file = join(dir, `replica-${port}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port, publicUrl, advertiseUrl: `http://127.0.0.1:${port}` },
      session: { keys: [TEST_SESSION_KEY] },
      signing: { keyFile },
      store: { kind: 'redis', url: redis.url },
      oidc: { issuer: idp.issuer, clientId: 'replicas', clientSecret: 'replicas-secret-123' },
      backends: [
        {
          name: 'legacy',
          default: true,
          stdio: { command: process.execPath, args: [DEMO_STDIO], isolation: 'session' },
        },
      ],
    }),
  );
  const { child } = await startAndWait(BIN, ['--config', file], {}, `http://127.0.0.1:${port}/healthz`);
  replicas.push(child);
}
t.teardown(() => {
  for (const c of replicas) c.kill('SIGKILL');
});

const spread = () => Object.fromEntries([...counts].map(([p, n]) => [`replica :${p}`, n]));
const reset = () => {
  for (const p of ports) counts.set(p, 0);
};

t.test('browser login and one stdio MCP session, request by request on different replicas', async (t) => {
  reset();
  const { cookie } = await loginThroughProxy(publicUrl, 'alice');
  t.match(cookie, /mcp_proxy_session=/, 'logged in with the login steps spread over the replicas');
  const { client } = await connect(`${publicUrl}/mcp/legacy`, cookie);
  const seen = [];
  for (let i = 0; i < 9; i++) seen.push((await whoami(client)).meta.sub);
  t.same(seen, Array(9).fill('alice'), 'every call answered by the one child process of the session');
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'round robin' } });
  t.match(JSON.stringify(echo.content), /round robin/);
  const progress: number[] = [];
  await client.callTool({ name: 'slow_count', arguments: { n: 3, delayMs: 10 } }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  t.same(progress, [1, 2, 3], 'progress streamed back through the relay (SSE)');
  await client.close();
  const per = spread();
  t.comment(`requests per replica: ${JSON.stringify(per)}`);
  t.ok(
    Object.values(per).every((n) => n >= 5),
    'each replica took a share of the requests',
  );
});

t.test('an MCP client OAuth flow with its steps on different replicas', async (t) => {
  reset();
  const { client } = await connectWithOAuth(`${publicUrl}/mcp/legacy`, { username: 'bob', password: 'bob' });
  t.equal((await whoami(client)).meta.sub, 'bob');
  const tools = (await client.listTools()).tools.map((x) => x.name);
  t.ok(tools.includes('whoami'));
  await client.close();
  t.comment(`requests per replica: ${JSON.stringify(spread())}`);
  t.ok(
    Object.values(spread()).every((n) => n >= 2),
    'registration, authorization, token and MCP calls spread over all three',
  );
});

/** POSTs one JSON-RPC message to the legacy backend through the front; the response. */
const postLegacy = (cookie: string, message: unknown, sid?: string) =>
  fetch(`${publicUrl}/mcp/legacy`, {
    method: 'POST',
    headers: {
      cookie,
      ...(sid ? { 'mcp-session-id': sid } : {}),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(message),
  });
/** Opens an MCP session (initialize only); its id. */
async function initialize(cookie: string): Promise<string> {
  const init = await postLegacy(cookie, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  await init.text();
  return init.headers.get('mcp-session-id')!;
}
async function pingStatus(cookie: string, sid: string): Promise<number> {
  const res = await postLegacy(cookie, { jsonrpc: '2.0', id: 1, method: 'ping' }, sid);
  await res.text();
  return res.status;
}

t.test('the replica holding a session stops: the session is released, the client starts again', async (t) => {
  const { cookie } = await loginThroughProxy(publicUrl, 'alice');
  const sid = await initialize(cookie);
  const owner = ports[(next - 1) % ports.length]!;
  const i = ports.indexOf(owner);
  replicas[i]!.kill('SIGTERM');
  t.equal(await exited(replicas[i]!), 0, 'the owner drains and exits 0');
  down.add(owner);
  for (let k = 0; k < 2; k++) {
    t.equal(await pingStatus(cookie, sid), 404, 'the session is gone on every other replica');
  }
  const { client } = await connect(`${publicUrl}/mcp/legacy`, cookie);
  t.equal((await whoami(client)).meta.sub, 'alice', 'a new session works on the remaining replicas');
  await client.close();
});

t.test('the replica holding a session crashes: the others drop its record and answer 404', async (t) => {
  const { cookie } = await loginThroughProxy(publicUrl, 'bob');
  const sid = await initialize(cookie);
  const up = ports.filter((p) => !down.has(p));
  const owner = up[(next - 1) % up.length]!;
  const child = replicas[ports.indexOf(owner)]!;
  child.kill('SIGKILL');
  await exited(child);
  down.add(owner);
  t.equal(await pingStatus(cookie, sid), 404, 'the owner cannot be reached: 404, so the client initializes again');
  const { client } = await connect(`${publicUrl}/mcp/legacy`, cookie);
  t.equal((await whoami(client)).meta.sub, 'bob', 'the last replica serves a new session');
  await client.close();
});
