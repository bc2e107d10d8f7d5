// Start-up failures as users meet them (plain Node on bin/): one line saying what and how to fix it, an exit code,
// no stack; an unexpected failure still shows its stack.
import t, { type Test } from 'tap';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { runCli } from '../helpers/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-start-'));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const config = (extra = '') =>
  `session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [{ name: k, sha256: "${'0'.repeat(64)}", subject: s }]
backends: [{ name: demo, http: { url: "http://127.0.0.1:9/mcp" } }]
${extra}`;

/** Exactly one line on stderr, and no stack frame anywhere. */
function oneLine(t: Test, stderr: string, pattern: RegExp | string) {
  const lines = stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one line: ${stderr}`);
  t.match(lines[0], pattern);
  t.notMatch(stderr, /^\s+at /m, 'no stack trace');
}

t.test('port in use: one line naming the port and the fix, exit 1', async (t) => {
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  t.teardown(() => squatter.close());
  const port = (squatter.address() as { port: number }).port;
  const f = file('busy.yaml', config());
  const r = await runCli(['--config', f, '--port', String(port), '--log-format', 'json']);
  t.equal(r.code, 1);
  oneLine(t, r.stderr, `error: port ${port} on 127.0.0.1 is in use (EADDRINUSE): stop the other process or use --port`);
});

t.test('a host that is not this machine: one line, exit 1', async (t) => {
  const f = file('host.yaml', config());
  const r = await runCli(['--config', f, '--host', '192.0.2.1', '--port', '0', '--log-format', 'json']);
  t.equal(r.code, 1);
  oneLine(t, r.stderr, /error: 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\): use --host/);
});

t.test('missing or unreadable config file: one line, exit 1 (run and check-config alike)', async (t) => {
  const absent = join(dir, 'absent.yaml');
  for (const args of [
    ['--config', absent],
    ['check-config', '--config', absent],
  ]) {
    const r = await runCli(args);
    t.equal(r.code, 1, args.join(' '));
    oneLine(t, r.stderr, `error: cannot read config file ${absent}: ENOENT: check the path, or pass --config FILE`);
  }
  const folder = join(dir, 'a-directory.yaml');
  mkdirSync(folder);
  const r = await runCli(['--config', folder]);
  t.equal(r.code, 1);
  oneLine(t, r.stderr, `error: cannot read config file ${folder}: EISDIR: name a file, not a directory`);
  const env = await runCli([], { MCP_PROXY_CONFIG: absent });
  t.equal(env.code, 1);
  oneLine(t, env.stderr, `cannot read config file ${absent}: ENOENT`);
});

t.test('unreadable client secret file in the zero-config form: one line, exit 1', async (t) => {
  const missing = join(dir, 'no-secret');
  const r = await runCli(
    ['--issuer', 'https://dev-1.okta.com/oauth2/default', '--client-id', 'c', '--client-secret-file', missing],
    { MCP_PROXY_SESSION_KEYS: TEST_SESSION_KEY },
  );
  t.equal(r.code, 1);
  oneLine(t, r.stderr, `error: cannot read client secret file ${missing}: ENOENT: check the path`);
});

t.test('a file read while building (signing.keyFile) missing: one line, exit 1', async (t) => {
  const missing = join(dir, 'no-key.json');
  const f = file('key.yaml', config(`signing: { keyFile: "${missing}" }`));
  const r = await runCli(['--config', f, '--port', '0', '--log-format', 'json']);
  t.equal(r.code, 1);
  oneLine(t, r.stderr, `error: cannot read file ${missing}: ENOENT: check the path`);
});

t.test('bad arguments: one line, exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--port', 'abc'], /^error: --port: "abc" is not a port number: use 1-65535/],
    [['--port', '70000'], /^error: --port: "70000" is not a port number/],
    [['--port', '-1'], /^error: .*--port/],
    [['--public-url', 'localhost:8080'], /^error: --public-url: "localhost:8080" is not an absolute http\(s\) URL/],
    [['--public-url', 'http://localhost:8080/?a=1'], /^error: --public-url: .* without query or fragment/],
    [['--public-url', 'http://localhost:8080/#top'], /^error: --public-url: /],
    [['--public-url', 'ftp://localhost'], /^error: --public-url: /],
    [['--log-format', 'xml'], /^error: --log-format: "xml" is neither pretty nor json/],
    [['--nope'], /^error: .*'--nope'.*\(see --help\)$/],
    [['serve'], /^error: unknown command "serve" \(see --help\)/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    t.equal(r.code, 2, args.join(' '));
    oneLine(t, r.stderr, pattern);
  }
});

t.test('an unexpected failure keeps its stack and exits non-zero', async (t) => {
  const f = file('bad-key.yaml', config(`signing: { keyFile: "${file('garbage.json', 'not json')}" }`));
  const r = await runCli(['--config', f, '--port', '0', '--log-format', 'json']);
  t.not(r.code, 0);
  t.match(r.stderr, /SyntaxError/);
  t.match(r.stderr, /^\s+at /m, 'the stack is shown');
});
