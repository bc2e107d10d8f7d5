// `check-config` as a newcomer runs it: every problem of a file in one run, in words, and `--probe` against real parts.
import t from 'tap';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startPostgres, startRedis } from '../helpers/db-servers.js';
import { startHttpsServer } from '../helpers/https-server.js';
import { freePort } from '../helpers/ports.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { runCli } from '../helpers/spawn.js';
import { startIdpFor } from '../helpers/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'check-config-'));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
/** The result lines of `--probe`, by what they probed. */
const probeLines = (stdout: string) =>
  Object.fromEntries(
    stdout
      .split('\n')
      .map((l) => [/^(?:ok {3}|FAIL )(.+?) (?:[a-z+]+:\/\/|command ")/.exec(l)?.[1], l])
      .filter(([what]) => what),
  ) as Record<string, string>;

t.test('a file with many problems: all of them in one run, in words, with "did you mean"', async (t) => {
  const f = file(
    'many.yaml',
    `server: { port: 99999, publicURL: "http://localhost:8080" }
oidc: { issuer: "https://dev-1.okta.com/oauth2/default/", clientId: abc }
session: { keys: ["\${SESSION_KEY}"] }
backend:
  - { name: tickets, http: { url: "http://127.0.0.1:9000/mcp", transport: grpc } }
`,
  );
  const r = await runCli(['check-config', '--config', f]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr.slice(r.stderr.indexOf('invalid configuration')),
    `invalid configuration (${f}): 7 problem(s)
  - session.keys[0]: environment variable SESSION_KEY is not set
  - server.port: must be at most 65535
  - server.publicURL: unknown key; did you mean \`publicUrl\`?
  - backends: required
  - backend: unknown key; did you mean \`backends\`?
  - oidc.clientSecret: the proxy is a confidential client: clientSecret is required ` +
      `(or OIDC_CLIENT_SECRET / --client-secret-file)
  - oidc.issuer: an Okta issuer is https://<org>.okta.com (org authorization server) or ` +
      `https://<org>.okta.com/oauth2/<server id> (custom, e.g. /oauth2/default), without a trailing slash
`,
  );
  t.notMatch(r.stderr, /Invalid input|Unrecognized|received/);
});

t.test('a config with no way in is refused', async (t) => {
  const f = file(
    'nobody.yaml',
    `session: { keys: [${TEST_SESSION_KEY}] }\nbackends: [{ name: a, stdio: { command: node } }]\n`,
  );
  const r = await runCli(['check-config', '--config', f]);
  t.equal(r.code, 1);
  t.match(r.stderr, '1 problem(s)\n  - nobody can authenticate: configure oidc, devIdp (enabled: true), apiKeys');
  const probe = await runCli(['--probe', '--config', f]);
  t.equal(probe.code, 2, '--probe belongs to check-config');
  t.match(probe.stderr, '--probe goes with check-config');
});

t.test('--probe: every part that answers is ok, and the exit code is 0', async (t) => {
  const port = await freePort();
  const idp = await startIdpFor(`http://127.0.0.1:${port}`);
  t.teardown(() => idp.close());
  const backend = await startDemoHttpServer();
  t.teardown(() => backend.close());
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const f = file(
    'ok.yaml',
    `server: { port: ${port} }
oidc: { issuer: "${idp.issuer}", clientId: mcp-proxy-test, clientSecret: s }
session: { keys: [${TEST_SESSION_KEY}] }
externalTokens: { jwt: [{ issuer: "${idp.issuer}" }] }
store: { kind: redis, url: "${redis.url}" }
backends:
  - { name: demo, http: { url: "${backend.url}" } }
  - { name: local, stdio: { command: node, args: [server.js] } }
  - { name: gh, http: { url: "${backend.url}" }, upstream: { kind: oauth, issuer: "${idp.issuer}" } }
`,
  );
  const r = await runCli(['check-config', '--probe', '--config', f]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const lines = probeLines(r.stdout);
  t.match(lines.idp, new RegExp(`^ok {3}idp ${idp.issuer} \\(discovery and JWKS \\(\\d+ keys?\\)\\)$`));
  t.match(lines['externalTokens.jwt[0]'], /^ok .*\(discovery and JWKS \(\d+ keys?\)\)$/);
  t.match(lines['backend demo'], /^ok .*\(HTTP \d{3}\)$/);
  t.match(lines['backend local'], `ok   backend local command "node" (${process.execPath}`);
  t.match(lines['backend gh upstream'], `(metadata of ${idp.issuer})`);
  t.equal(lines['store redis'], `ok   store redis ${redis.url} (PONG)`);
  t.match(r.stdout, /probes: all 7 OK\n$/);
});

t.test('--probe: each failure with its cause, and exit 1', async (t) => {
  const closed = await freePort();
  const redis = await startRedis();
  t.teardown(() => redis.close());
  await redis.stop();
  const tls = await startHttpsServer((_req, res) => res.end('{}'));
  t.teardown(() => tls.close());
  // Accepts connections and never answers.
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
  await new Promise((r) => silent.once('listening', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const silentPort = (silent.address() as { port: number }).port;
  const script = file('not-executable.sh', '#!/bin/sh\n');
  chmodSync(script, 0o644);
  const f = file(
    'down.yaml',
    `oidc: { issuer: "http://127.0.0.1:${closed}/idp", clientId: a, clientSecret: b }
session: { keys: [${TEST_SESSION_KEY}] }
externalTokens:
  introspection: { endpoint: "http://127.0.0.1:${closed}/introspect", clientId: a, clientSecret: b }
store: { kind: redis, url: "redis://:hunter2@127.0.0.1:${redis.port}" }
backends:
  - { name: tickets, http: { url: "http://127.0.0.1:${closed}/mcp" } }
  - { name: selfsigned, http: { url: "${tls.origin}/mcp" } }
  - { name: nowhere, http: { url: "http://no-such-host.invalid/mcp" } }
  - { name: silent, http: { url: "http://127.0.0.1:${silentPort}/mcp" } }
  - { name: legacy, stdio: { command: no-such-mcp-server } }
  - { name: script, stdio: { command: "${script}" } }
`,
  );
  const r = await runCli(['check-config', '--probe', '--config', f]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, 'configuration OK', 'the config itself is valid');
  const lines = probeLines(r.stdout);
  const refused = `(unreachable: ECONNREFUSED 127.0.0.1:${closed})`;
  t.equal(lines.idp, `FAIL idp http://127.0.0.1:${closed}/idp ${refused}`);
  t.equal(
    lines['externalTokens.introspection'],
    `FAIL externalTokens.introspection http://127.0.0.1:${closed}/introspect ${refused}`,
  );
  t.equal(lines['backend tickets'], `FAIL backend tickets http://127.0.0.1:${closed}/mcp ${refused}`);
  t.match(
    lines['backend selfsigned'],
    /^FAIL backend selfsigned https:\/\/127\.0\.0\.1:\d+\/mcp \(TLS: \S*SELF_SIGNED/,
  );
  t.match(lines['backend nowhere'], /^FAIL .* \(unreachable: (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\)$/);
  t.equal(lines['backend silent'], `FAIL backend silent http://127.0.0.1:${silentPort}/mcp (timeout after 5000 ms)`);
  t.equal(lines['backend legacy'], 'FAIL backend legacy command "no-such-mcp-server" (not found on PATH)');
  t.equal(lines['backend script'], `FAIL backend script command "${script}" (not executable: ${script})`);
  t.equal(
    lines['store redis'],
    `FAIL store redis redis://:****@127.0.0.1:${redis.port} (unreachable: ECONNREFUSED 127.0.0.1:${redis.port})`,
  );
  t.notMatch(r.stdout, 'hunter2', 'no password printed');
  t.match(r.stdout, /probes: 9 of 9 failed\n$/);
});

t.test(
  '--probe: PostgreSQL answers SELECT 1; a database that does not exist is a failure with its reason',
  async (t) => {
    const pg = await startPostgres();
    t.teardown(() => pg.close());
    const config = (url: string) =>
      file(
        `pg${Math.random().toString(36).slice(2)}.yaml`,
        `session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [{ name: k, sha256: "${'a'.repeat(64)}", subject: k }]
store: { kind: postgres, url: "${url}" }
backends: [{ name: local, stdio: { command: node } }]
`,
      );
    const ok = await runCli(['check-config', '--probe', '--config', config(pg.url)]);
    t.equal(ok.code, 0, ok.stdout);
    t.equal(probeLines(ok.stdout)['store postgres'], `ok   store postgres ${pg.url} (SELECT 1)`);
    const missing = pg.url.replace(/\/postgres$/, '/nope');
    const bad = await runCli(['check-config', '--probe', '--config', config(missing)]);
    t.equal(bad.code, 1);
    t.equal(
      probeLines(bad.stdout)['store postgres'],
      `FAIL store postgres ${missing} (database "nope" does not exist)`,
    );
    t.match(bad.stdout, /probes: 1 of 2 failed\n$/);
  },
);

t.test('--probe: an issuer with no discovery document says what answered', async (t) => {
  const backend = await startDemoHttpServer();
  t.teardown(() => backend.close());
  const issuer = new URL('/not-an-idp', backend.url).href;
  const f = file(
    'no-discovery.yaml',
    `oidc: { issuer: "${issuer}", clientId: a, clientSecret: b }
session: { keys: [${TEST_SESSION_KEY}] }
externalTokens: { jwt: [{ issuer: "${issuer}" }] }
backends: [{ name: local, stdio: { command: node } }]
`,
  );
  const r = await runCli(['check-config', '--probe', '--config', f]);
  t.equal(r.code, 1);
  const lines = probeLines(r.stdout);
  t.match(lines.idp, new RegExp(`^FAIL idp ${issuer} \\(discovery: HTTP 4\\d\\d from ${issuer}/\\.well-known/`));
  t.equal(
    lines['externalTokens.jwt[0]'],
    `FAIL externalTokens.jwt[0] ${issuer} (discovery: no metadata document found)`,
  );
  t.match(r.stdout, /probes: 2 of 3 failed\n$/);
});
