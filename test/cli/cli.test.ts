// The command line as users run it: plain Node on bin/, real processes, real signals.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'undici';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { freePort } from '../helpers/ports.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { apiKey } from '../helpers/hostile.js';
import { mcpSession } from '../helpers/session-client.js';
import { exited, runCli, startAndWait, BIN } from '../helpers/spawn.js';

const ALICE = apiKey('cli', 'alice');
const dir = mkdtempSync(join(tmpdir(), 'cli-'));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

t.test('--version and --help', async (t) => {
  const v = await runCli(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const h = await runCli(['--help']);
  t.equal(h.code, 0);
  t.match(h.stdout, 'check-config');
  t.match(h.stdout, '--client-secret-file');
  const bad = await runCli(['--nope']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /error: .*--nope/);
});

t.test('check-config prints the effective config with secrets masked', async (t) => {
  const f = file(
    'ok.yaml',
    `oidc: { issuer: "https://dev-1.okta.com/oauth2/default", clientId: abc, clientSecret: "\${OIDC_CLIENT_SECRET}" }
session: { keys: [${TEST_SESSION_KEY}] }
backends: [{ name: tickets, http: { url: "http://127.0.0.1:9000/mcp" } }]
`,
  );
  const r = await runCli(['check-config', '--config', f], { OIDC_CLIENT_SECRET: 'hunter2-secret' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'configuration OK');
  t.match(r.stdout, '"clientId": "abc"');
  t.notMatch(r.stdout, 'hunter2-secret');
  t.notMatch(r.stdout, TEST_SESSION_KEY);
});

t.test('check-config lists every problem and exits 1', async (t) => {
  const f = file('bad.yaml', `server: { port: -1 }\nsession: { keys: [nope] }\nbackends: [{ name: a }]\nwhat: 1\n`);
  const r = await runCli(['check-config', '--config', f]);
  t.equal(r.code, 1);
  for (const p of ['server.port', 'session.keys[0]', 'backends[0]', 'what: unknown key']) t.match(r.stderr, p);
  const missing = await runCli(['check-config', '--config', join(dir, 'absent.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /absent\.yaml: ENOENT/);
});

t.test('the zero-config wrap form builds a stdio backend named default', async (t) => {
  const secretFile = file('secret', 'wrapped-secret\n');
  const r = await runCli(
    [
      'check-config',
      '--issuer',
      'https://dev-1.okta.com/oauth2/default',
      '--client-id',
      'cid',
      '--client-secret-file',
      secretFile,
      '--',
      'node',
      'server.js',
      '--flag',
    ],
    { MCP_PROXY_SESSION_KEYS: TEST_SESSION_KEY },
  );
  t.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1));
  t.same(printed.backends[0].name, 'default');
  t.same(printed.backends[0].stdio.command, 'node');
  t.same(printed.backends[0].stdio.args, ['server.js', '--flag']);
  t.equal(printed.oidc.clientId, 'cid');
  t.equal(printed.oidc.clientSecret, '********');
});

t.test('SIGTERM drains an in-flight request, answers later ones 503, then exits 0', async (t) => {
  const backend = await startDemoHttpServer();
  t.teardown(() => backend.close());
  const port = await freePort();
  const f = file(
    'run.yaml',
    `server: { port: ${port} }
session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [${JSON.stringify(ALICE.config)}]
backends: [{ name: demo, http: { url: "${backend.url}" } }]
`,
  );
  const { child } = await startAndWait(BIN, ['--config', f], {}, `http://127.0.0.1:${port}/healthz`);
  t.teardown(() => child.kill('SIGKILL'));
  const mcp = await mcpSession(`http://127.0.0.1:${port}/mcp`, ALICE.headers);
  // One connection, two requests pipelined on it: the slow call in flight, then one that arrives after SIGTERM.
  const conn = new Client(`http://127.0.0.1:${port}`, { pipelining: 2 });
  t.teardown(() => conn.destroy());
  const send = (name: string, args: Record<string, unknown>, id: number) =>
    conn
      .request({
        method: 'POST',
        path: '/mcp',
        headers: mcp.headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
      })
      .then(async (r) => ({ status: r.statusCode, connection: r.headers.connection, body: await r.body.text() }));
  const slow = send('slow_count', { n: 3, delayMs: 300 }, 100);
  while (!backend.seen.some((s) => JSON.stringify(s.body ?? '').includes('slow_count')))
    await new Promise((r) => setTimeout(r, 20));
  const callsBefore = backend.seen.length;
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  const late = send('echo', { text: 'too late' }, 101);
  const fresh = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: mcp.headers,
    body: '{"jsonrpc":"2.0","id":102,"method":"tools/list"}',
  }).then(
    (r) => r.status,
    (e: Error) => (e.cause as { code?: string })?.code ?? e.message,
  );
  const done = await slow;
  t.equal(done.status, 200, 'the in-flight request completed');
  t.match(done.body, 'counted to 3');
  const refused = await late;
  t.equal(refused.status, 503, 'a request arriving while draining gets 503');
  t.equal(refused.connection, 'close');
  t.ok(fresh === 503 || fresh === 'ECONNREFUSED', `a new connection is refused or answered 503 (${fresh})`);
  t.equal(backend.seen.length, callsBefore, 'nothing new reached the backend after SIGTERM');
  t.equal(await exited(child), 0, 'clean exit');
});

t.test('npx: a SIGTERM to npm stops the proxy (npm → sh → node, and sh passes no signal on)', async (t) => {
  const port = await freePort();
  const f = file(
    'npx.yaml',
    `server: { port: ${port} }
session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [{ name: k, sha256: "${'0'.repeat(64)}", subject: s }]
backends: [{ name: demo, http: { url: "http://127.0.0.1:9/mcp" } }]
`,
  );
  // A project with the package's bin linked, as `npm install` leaves it: npx runs it through npm exec → sh → node.
  const project = mkdtempSync(join(tmpdir(), 'npx-project-'));
  mkdirSync(join(project, 'node_modules/.bin'), { recursive: true });
  writeFileSync(join(project, 'package.json'), '{"name":"npx-project","version":"1.0.0"}');
  symlinkSync(BIN, join(project, 'node_modules/.bin/mcp-oidc-proxy'));
  const npx = join(dirname(process.execPath), 'npx');
  const env = { npm_config_cache: join(project, 'cache'), npm_config_update_notifier: 'false', HOME: project };
  const { child } = await startAndWait(
    npx,
    ['--no-install', 'mcp-oidc-proxy', '--config', f],
    env,
    `http://127.0.0.1:${port}/healthz`,
    30_000,
    project,
  );
  t.teardown(() => child.kill('SIGKILL'));
  const proxyPids = () =>
    execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(f) && l.includes('node ') && !l.includes('npm'))
      .map((l) => Number(l.trim().split(' ')[0]));
  const [pid] = proxyPids();
  t.ok(pid, 'the proxy runs as a grandchild of npm');
  child.kill('SIGTERM');
  await exited(child);
  // The orphaned proxy notices its launcher is gone and drains; wait for its process to end.
  const deadline = Date.now() + 15_000;
  while (
    Date.now() < deadline &&
    existsSync(`/proc/${pid}`) &&
    !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
  )
    await new Promise((r) => setTimeout(r, 100));
  t.notOk(
    existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '),
    'the proxy process ended',
  );
  const after = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.status,
    (e: Error) => (e.cause as { code?: string })?.code,
  );
  t.equal(after, 'ECONNREFUSED', 'nothing listens on its port any more');
});
