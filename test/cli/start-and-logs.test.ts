// What the proxy says when it runs (plain Node on bin/): the listening URL and the redirect URI to register
// (--public-url), JSON lines with ISO times or readable lines (--log-format, MCP_PROXY_LOG_FORMAT), and the
// cause of network failures at warn level without a stack.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { apiKey } from '../helpers/hostile.js';
import { BIN, exited, outputMatches, runCli, startAndWait } from '../helpers/spawn.js';

const ALICE = apiKey('logs', 'alice');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const dir = mkdtempSync(join(tmpdir(), 'cli-logs-'));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
/** The lines written in full so far (a line may be half-way through its write). */
const whole = (text: string) => text.slice(0, text.lastIndexOf('\n') + 1);
const jsonLines = (text: string) =>
  whole(text)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

t.test('zero-config wrap with --public-url: the redirect URI to register, JSON when not a terminal', async (t) => {
  const port = await freePort();
  const deadIdp = await freePort(); // nothing listens there
  const secret = file('secret', 'wrapped-secret\n');
  const { child, stdout, stderr, output } = await startAndWait(
    BIN,
    [
      ...['--port', String(port), '--public-url', `http://localhost:${port}/`],
      ...['--issuer', `http://127.0.0.1:${deadIdp}/oauth2/default`, '--client-id', 'cid'],
      ...['--client-secret-file', secret, '--', process.execPath, 'examples/demo-stdio-server.mjs'],
    ],
    { MCP_PROXY_SESSION_KEYS: TEST_SESSION_KEY },
    `http://127.0.0.1:${port}/healthz`,
  );
  t.teardown(() => child.kill('SIGKILL'));
  await outputMatches(child, output, /idp\.discovery_failed.*\n/);
  const register = `register this redirect URI at your IdP: http://localhost:${port}/oauth/callback`;
  t.equal(stderr().split(register).length - 1, 1, 'the redirect URI to register is printed once, on stderr');
  t.match(stderr(), `listening on http://127.0.0.1:${port} (public URL http://localhost:${port})`);
  t.notMatch(stderr(), 'WARNING', 'no runtime warning');

  const lines = jsonLines(stdout()); // every stdout line is JSON (stdout is a pipe here)
  for (const l of lines) t.match(l.time, ISO, `ISO time: ${l.msg}`);
  const start = lines.find((l) => l.event === 'start');
  t.equal(start?.publicUrl, `http://localhost:${port}`);
  t.equal(start?.redirectUri, `http://localhost:${port}/oauth/callback`);
  const discovery = lines.find((l) => l.event === 'idp.discovery_failed');
  t.equal(discovery?.level, 40, 'IdP unavailable is a warning');
  t.equal(discovery?.reason, `ECONNREFUSED 127.0.0.1:${deadIdp}`, 'the cause, not "fetch failed"');
  t.match(discovery?.msg, `ECONNREFUSED 127.0.0.1:${deadIdp}`);
  t.notMatch(stdout(), 'fetch failed');
  const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { idp: { detail: string } };
  t.equal(ready.idp.detail, `ECONNREFUSED 127.0.0.1:${deadIdp}`, '/readyz says why too');
  child.kill('SIGTERM');
  t.equal(await exited(child), 0);
});

t.test('--public-url with a config file: server.publicUrl and the redirect URI follow it', async (t) => {
  const f = file(
    'okta.yaml',
    `oidc: { issuer: "https://dev-1.okta.com/oauth2/default", clientId: abc, clientSecret: s3cret }
session: { keys: [${TEST_SESSION_KEY}] }
backends: [{ name: tickets, http: { url: "http://127.0.0.1:9000/mcp" } }]
`,
  );
  const r = await runCli(['check-config', '--config', f, '--public-url', 'https://mcp.example.com/']);
  t.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1));
  t.equal(printed.server.publicUrl, 'https://mcp.example.com');
  t.equal(printed.oidc.redirectUri, 'https://mcp.example.com/oauth/callback');
});

function backendDownConfig(port: number, deadBackend: number) {
  return file(
    `down-${port}.yaml`,
    `server: { port: ${port} }
session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [${JSON.stringify(ALICE.config)}]
backends: [{ name: demo, http: { url: "http://127.0.0.1:${deadBackend}/mcp" } }]
`,
  );
}

const initialize = (port: number) =>
  fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { ...ALICE.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'logs-test', version: '1' } },
    }),
  });

t.test('--log-format json: a backend down is one warning with its cause, no stack; one time format', async (t) => {
  const port = await freePort();
  const dead = await freePort();
  const f = backendDownConfig(port, dead);
  const { child, stdout, output } = await startAndWait(
    BIN,
    ['--config', f, '--log-format', 'json'],
    {},
    `http://127.0.0.1:${port}/healthz`,
  );
  t.teardown(() => child.kill('SIGKILL'));
  const res = await initialize(port);
  t.equal(res.status, 502);
  await res.body?.cancel();
  await outputMatches(child, output, /"audit":true.*\n/);
  const lines = jsonLines(stdout());
  for (const l of lines) t.match(l.time, ISO, `ISO time (${l.audit ? 'audit' : l.msg})`);
  t.ok(
    lines.some((l) => l.audit),
    'audit lines share the format',
  );
  t.ok(
    lines.some((l) => l.msg === 'request completed'),
    'access lines share the format',
  );
  const failed = lines.find((l) => l.msg?.startsWith('backend request failed'));
  t.equal(failed?.level, 40);
  t.equal(failed?.reason, `ECONNREFUSED 127.0.0.1:${dead}`);
  const answered = lines.find((l) => l.code === 'BACKEND_UNAVAILABLE');
  t.equal(answered?.level, 40, 'the 502 answer is logged at warn');
  t.notOk(answered?.err, 'with no error object');
  t.notMatch(stdout(), /"stack"|\\n\s+at /, 'no stack anywhere');
  t.notOk(
    lines.some((l) => l.level >= 50),
    'nothing at error level',
  );
  child.kill('SIGTERM');
  t.equal(await exited(child), 0);
});

t.test('MCP_PROXY_LOG_FORMAT=pretty: one readable line per event, audit included', async (t) => {
  const port = await freePort();
  const dead = await freePort();
  const f = backendDownConfig(port, dead);
  const { child, stdout, stderr, output } = await startAndWait(
    BIN,
    ['--config', f],
    { MCP_PROXY_LOG_FORMAT: 'pretty' },
    `http://127.0.0.1:${port}/healthz`,
  );
  t.teardown(() => child.kill('SIGKILL'));
  const res = await initialize(port);
  t.equal(res.status, 502);
  await res.body?.cancel();
  await outputMatches(child, output, / AUDIT .*\n/);
  const lines = whole(stdout()).split('\n').filter(Boolean);
  for (const l of lines) t.match(l, /^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |AUDIT) \S/, l);
  t.match(stdout(), `listening on http://127.0.0.1:${port}`);
  t.match(stdout(), `WARN  backend request failed: ECONNREFUSED 127.0.0.1:${dead}`);
  t.match(stdout(), /AUDIT ALLOW .* → demo initialize 502/);
  t.match(stdout(), /INFO {2}GET \/healthz → 200 /);
  t.equal(stderr(), '', 'nothing on stderr: the log says it');
  child.kill('SIGTERM');
  t.equal(await exited(child), 0);
});
