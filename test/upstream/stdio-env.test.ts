// A stdio backend with `upstream: {..., env: NAME}` gets the token obtained for its user in
// NAME at spawn and in the file NAME_FILE (0600, in a private 0700 directory), rewritten
// atomically before the token expires and whenever a request obtains another one; the file
// goes with the child. Real parts: the test IdP with RFC 8693, a second oidc-provider for
// client credentials, a real stdio MCP server behind the proxy, the MCP SDK client.
import t from 'tap';
import { existsSync, readFileSync, watch } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { loadConfig } from '../../src/app/config.js';
import { nextLiveState } from '../../src/app/live-state.js';
import type { Backend } from '../../src/backends/backend.js';
import type { BackendConfig } from '../../src/config/schema.js';
import { renewalDelay, retryDelay } from '../../src/backends/stdio/token-file.js';
import { EXPIRY_MARGIN_MS } from '../../src/upstream/cache.js';
import { apiKey } from '../helpers/hostile.js';
import { INITIALIZE, loginThroughProxy, MCP_ACCEPT } from '../helpers/session-client.js';
import { ROOT } from '../helpers/spawn.js';
import { startStack } from '../helpers/stack.js';
import { childrenOf, connect, within } from '../helpers/stdio-stack.js';
import { addTokenExchange, startClientCredentialsIdp, TOKEN_EXCHANGE } from '../helpers/upstream-idp.js';

const SERVER = `${ROOT}test/helpers/token-env-stdio-server.mjs`;
/** Seconds: short, so the token files are renewed while the children live. */
const EXCHANGED_LIFETIME = 4;
const CC_LIFETIME = 6;

/** The client credentials token endpoint, behind a relay the test can switch to refuse. */
async function startRelay(target: string) {
  let failing = false;
  let waiters: Array<() => void> = [];
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    if (failing) {
      for (const w of waiters.splice(0)) w();
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'switched off' }));
    }
    const r = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded',
        authorization: req.headers.authorization ?? '',
        accept: 'application/json',
      },
      body,
    });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(await r.text());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    fail: (on: boolean) => {
      failing = on;
    },
    /** Resolves at the next request the relay refuses. */
    nextFailure: () => new Promise<void>((r) => waiters.push(r)),
    close: () => {
      waiters = [];
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const cc = await startClientCredentialsIdp({ ttl: CC_LIFETIME });
const relay = await startRelay(cc.tokenEndpoint);
const key = apiKey('robot', 'robot');
const stdio = (isolation: string, tokenEnv: string) => ({
  command: process.execPath,
  args: [SERVER],
  isolation,
  env: { TOKEN_ENV: tokenEnv },
});
const stack = await startStack({
  consent: false,
  idpClient: () => ({ grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] }),
  backends: () => [
    {
      name: 'jira',
      stdio: stdio('user', 'JIRA_TOKEN'),
      upstream: { kind: 'tokenExchange', audience: 'api://jira', scopes: ['read'], env: 'JIRA_TOKEN' },
    },
    {
      name: 'reports',
      stdio: stdio('session', 'REPORTS_TOKEN'),
      upstream: {
        kind: 'clientCredentials',
        tokenEndpoint: relay.url,
        clientId: cc.clientId,
        clientSecret: cc.clientSecret,
        scopes: ['reports'],
        env: 'REPORTS_TOKEN',
      },
    },
  ],
  proxy: { apiKeys: [key.config] },
});
const exchanges = addTokenExchange(stack.idp.provider, { expiresIn: EXCHANGED_LIFETIME });
t.teardown(async () => {
  await stack.close();
  await relay.close();
  await cc.close();
});
const { proxy } = stack;
const alice = await loginThroughProxy(proxy.url, 'alice');
const bob = await loginThroughProxy(proxy.url, 'bob');

interface Seen {
  pid: number;
  sub: string | null;
  env: string | null;
  file: string | null;
  content?: string;
  mode?: number;
  dirMode?: number;
  error?: string;
}

async function credential(client: Awaited<ReturnType<typeof connect>>['client']): Promise<Seen> {
  const r = (await client.callTool({ name: 'credential', arguments: {} })) as { content: Array<{ text: string }> };
  return JSON.parse(r.content[0]!.text) as Seen;
}

const tokensOf = (who: string) => exchanges.filter((x) => x.accountId === who).map((x) => x.token);
const serverProcesses = () => childrenOf(process.pid, 'token-env-stdio-server');

/**
 * Watches `dir` until `done` (called at each change, and once at first) returns a value; resolves
 * with it, or with undefined after `ms` (a bound on waiting for the event, not a sleep).
 */
function watchUntil<T>(dir: string, ms: number, done: () => T | undefined): Promise<T | undefined> {
  return new Promise((resolve) => {
    const finish = (v: T | undefined) => {
      w.close();
      clearTimeout(timer);
      resolve(v);
    };
    const w = watch(dir, () => {
      const v = done();
      if (v !== undefined) finish(v);
    });
    const timer = setTimeout(() => finish(undefined), ms);
    const v = done();
    if (v !== undefined) finish(v);
  });
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

/** The file's content once it differs from `from` (each rename into its directory is looked at). */
const rewritten = (file: string, from: string, ms: number) =>
  watchUntil(dirname(file), ms, () => {
    const now = read(file);
    return now !== from ? now : undefined;
  });

/** True once `dir` no longer exists (watched in its parent). */
const removed = (dir: string, ms: number) => watchUntil(dirname(dir), ms, () => (existsSync(dir) ? undefined : true));

let aliceFirst: Seen;
let aliceSession: Awaited<ReturnType<typeof connect>>;

t.test("alice's per-user child gets her exchanged token in JIRA_TOKEN and in JIRA_TOKEN_FILE", async (t) => {
  aliceSession = await connect(`${proxy.url}/mcp/jira`, alice.cookie);
  const s = await credential(aliceSession.client);
  aliceFirst = s;
  t.equal(s.sub, 'alice');
  const x = exchanges.find((e) => e.token === s.env);
  t.ok(x, 'the environment holds a token the IdP exchanged');
  t.equal(x?.accountId, 'alice');
  t.equal(x?.audience, 'api://jira');
  t.equal(x?.scope, 'read');
  t.not(s.env, x?.subjectToken, "never alice's own upstream token");
  t.match(s.file, /mcp-proxy-upstream-[^/]+\/token$/);
  t.equal(s.mode, 0o600, 'the file is 0600');
  t.equal(s.dirMode, 0o700, 'in a private 0700 directory');
  t.ok(tokensOf('alice').includes(s.content!), 'the file holds a token exchanged for alice');
});

t.test("bob's child is his own: it never sees alice's token, nor she his", async (t) => {
  const bobSession = await connect(`${proxy.url}/mcp/jira`, bob.cookie);
  const b = await credential(bobSession.client);
  t.equal(b.sub, 'bob');
  t.not(b.pid, aliceFirst.pid, 'another process');
  t.not(dirname(b.file!), dirname(aliceFirst.file!), 'another directory');
  t.ok(tokensOf('bob').includes(b.env!), "bob's environment holds bob's token");
  t.ok(tokensOf('bob').includes(b.content!), "bob's file holds bob's token");
  const a = await credential(aliceSession.client);
  t.equal(a.pid, aliceFirst.pid, "alice's child is still hers");
  for (const tok of tokensOf('alice')) {
    t.not(b.env, tok);
    t.not(b.content, tok);
  }
  for (const tok of tokensOf('bob')) {
    t.not(a.env, tok);
    t.not(a.content, tok);
  }
  await bobSession.client.close();
});

t.test("alice's second session shares her child and its file", async (t) => {
  const second = await connect(`${proxy.url}/mcp/jira`, alice.cookie);
  const s = await credential(second.client);
  t.equal(s.pid, aliceFirst.pid);
  t.equal(s.file, aliceFirst.file);
  t.equal(s.env, aliceFirst.env, 'the environment is the one set at spawn');
  await second.client.close();
});

t.test('the file is rewritten before the token expires, with no request', async (t) => {
  const file = aliceFirst.file!;
  const before = readFileSync(file, 'utf8');
  const seenBefore = exchanges.length;
  const now = await rewritten(file, before, EXCHANGED_LIFETIME * 1000 + 5000);
  if (!now) return t.fail('the file was not rewritten while the child lived');
  const x = exchanges.slice(seenBefore).find((e) => e.token === now);
  t.ok(x, 'a token exchanged after the previous one');
  t.equal(x?.accountId, 'alice');
  const s = await credential(aliceSession.client);
  t.equal(s.env, aliceFirst.env, 'the environment keeps the token set at spawn');
  t.equal(s.mode, 0o600, 'the rewritten file is 0600 too');
});

t.test('a request that obtains another token rewrites the file before the child hears it', async (t) => {
  const seenBefore = exchanges.length;
  const s = await credential(aliceSession.client);
  const fresh = exchanges.slice(seenBefore).filter((e) => e.accountId === 'alice');
  t.ok(fresh.length >= 1, 'the request obtained a token (short-lived tokens are not cached)');
  t.ok(
    fresh.some((e) => e.token === s.content),
    'the file the child read holds a token obtained for this request or after it',
  );
});

t.test('a principal without a subject token: the same JSON-RPC error as HTTP backends, no child', async (t) => {
  const before = serverProcesses();
  const spawnsBefore = proxy.logs().filter((l) => l.event === 'stdio.spawn').length;
  const res = await fetch(`${proxy.url}/mcp/jira`, {
    method: 'POST',
    headers: { ...key.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(res.status, 200, 'a JSON-RPC answer');
  const body = (await res.json()) as any;
  t.equal(body.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
  t.equal(body.error.data.backend, 'jira');
  t.match(body.error.message, /backend "jira"/);
  t.equal(proxy.logs().filter((l) => l.event === 'stdio.spawn').length, spawnsBefore, 'no child spawned');
  t.same(serverProcesses(), before);
});

t.test('clientCredentials with env: the proxy token in a per-session child, renewed, gone with it', async (t) => {
  const session = await connect(`${proxy.url}/mcp/reports`, alice.cookie);
  const s = await credential(session.client);
  const issued = await cc.provider.ClientCredentials.find(s.env!);
  t.ok(issued, 'REPORTS_TOKEN is a token the token endpoint issued');
  t.equal(issued?.clientId, cc.clientId);
  t.equal(issued?.scope, 'reports');
  t.ok(await cc.provider.ClientCredentials.find(s.content!), 'so is the file content');
  t.equal(s.mode, 0o600);
  t.equal(s.dirMode, 0o700);

  t.test('a failed renewal is logged and retried; the child keeps its file meanwhile', async (t) => {
    relay.fail(true);
    if (!(await within(relay.nextFailure(), 20_000))) return t.fail('no renewal was attempted');
    const kept = readFileSync(s.file!, 'utf8');
    if (!(await within(relay.nextFailure(), 20_000))) return t.fail('the failed renewal was not retried');
    t.equal(readFileSync(s.file!, 'utf8'), kept, 'the file is unchanged after a failed renewal');
    const next = rewritten(s.file!, kept, 45_000);
    relay.fail(false);
    const now = await next;
    if (!now) return t.fail('no retry succeeded');
    t.ok(await cc.provider.ClientCredentials.find(now), 'the file holds a new token from the endpoint');
    const failures = proxy.logs().filter((l) => l.event === 'stdio.token_renew_failed');
    t.ok(failures.length >= 2, 'each failed renewal is logged');
    t.equal(failures[0]?.env, 'REPORTS_TOKEN');
    t.equal(failures[0]?.reason, 'temporarily_unavailable');
    const logged = JSON.stringify(proxy.logs());
    for (const tok of [s.env!, kept, now]) t.notOk(logged.includes(tok), 'no token in the logs');
  });

  t.test('the directory goes when the child ends', async (t) => {
    const dir = dirname(s.file!);
    t.ok(existsSync(dir));
    const gone = removed(dir, 10_000);
    await session.transport.terminateSession();
    await session.client.close();
    t.ok(await gone, 'the token directory is removed');
    t.notOk(existsSync(s.file!));
  });
});

t.test('the token endpoint refusing: UPSTREAM_TOKEN_FAILED naming the backend, no child', async (t) => {
  const spawnsBefore = proxy.logs().filter((l) => l.event === 'stdio.spawn').length;
  relay.fail(true);
  t.teardown(() => relay.fail(false));
  const res = await fetch(`${proxy.url}/mcp/reports`, {
    method: 'POST',
    headers: { cookie: alice.cookie, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(res.status, 200, 'a JSON-RPC answer');
  const body = (await res.json()) as any;
  t.equal(body.error.data.code, 'UPSTREAM_TOKEN_FAILED');
  t.equal(body.error.data.backend, 'reports');
  t.notOk(res.headers.get('mcp-session-id'), 'no session');
  t.equal(proxy.logs().filter((l) => l.event === 'stdio.spawn').length, spawnsBefore, 'no child spawned');
});

t.test(
  'config: env is required on stdio, refused on http, and the isolation must be per user or session',
  async (t) => {
    const KEY = Buffer.alloc(32, 1).toString('base64');
    const oidc = { issuer: 'https://dev-1.okta.com/oauth2/default', clientId: 'abc', clientSecret: 's3cret' };
    const load = (backends: unknown[]) => loadConfig({ doc: { session: { keys: [KEY] }, backends, oidc }, env: {} });
    const te = { kind: 'tokenExchange', audience: 'api://jira' };
    const ok = load([
      { name: 'jira', stdio: { command: 'jira-mcp', isolation: 'user' }, upstream: { ...te, env: 'JIRA_TOKEN' } },
      { name: 'jira2', stdio: { command: 'jira-mcp' }, upstream: { ...te, env: '_T0' } },
    ]);
    t.same(ok.problems, []);
    t.equal(ok.config!.backends[0]!.upstream?.env, 'JIRA_TOKEN');

    const { config, problems } = load([
      { name: 'shared', stdio: { command: 'x', isolation: 'shared' }, upstream: { ...te, env: 'T' } },
      { name: 'crm', http: { url: 'http://127.0.0.1:9000/mcp' }, upstream: { ...te, env: 'T' } },
      { name: 'noenv', stdio: { command: 'x', isolation: 'user' }, upstream: te },
      { name: 'badname', stdio: { command: 'x' }, upstream: { ...te, env: '1-TOKEN' } },
      { name: 'clash', stdio: { command: 'x', env: { T_FILE: '/etc/passwd' } }, upstream: { ...te, env: 'T' } },
      {
        name: 'cc',
        stdio: { command: 'x', isolation: 'shared' },
        upstream: {
          kind: 'clientCredentials',
          tokenEndpoint: 'https://idp.example.com/t',
          clientId: 'a',
          clientSecret: 'b',
        },
      },
    ]);
    t.equal(config, undefined);
    const text = problems.join('\n');
    t.match(text, /backends\[0\]\.stdio\.isolation.*backend "shared".*user or session/);
    t.match(text, /backends\[1\]\.upstream\.env.*backend "crm".*stdio backends/);
    t.match(text, /backends\[2\]\.upstream\.env.*backend "noenv".*needs env/);
    t.match(text, /backends\[3\]\.upstream\.env.*environment variable name/);
    t.match(text, /backends\[4\]\.upstream\.env.*stdio\.env already sets T_FILE/);
    t.match(text, /backends\[5\]\.upstream\.env.*backend "cc".*needs env/, 'every kind, every problem collected');
    t.match(text, /backends\[5\]\.stdio\.isolation.*backend "cc"/);
  },
);

t.test('reload: another upstream.env starts new processes; a policy change keeps them', async (t) => {
  const KEY = Buffer.alloc(32, 1).toString('base64');
  const oidc = { issuer: 'https://dev-1.okta.com/oauth2/default', clientId: 'abc', clientSecret: 's3cret' };
  const jira = (env: string, allow?: unknown) => ({
    name: 'jira',
    stdio: { command: 'jira-mcp', isolation: 'user' },
    upstream: { kind: 'tokenExchange', env },
    ...(allow ? { allow } : {}),
  });
  const config = (b: unknown) =>
    loadConfig({ doc: { session: { keys: [KEY] }, backends: [b], oidc }, env: {} }).config!;
  const started: string[] = [];
  const start = (cfg: BackendConfig) => {
    started.push(cfg.upstream?.env as string);
    return { name: cfg.name, config: cfg, adopt() {}, inherit() {}, close: async () => {} } as unknown as Backend;
  };
  const first = nextLiveState(config(jira('JIRA_TOKEN')), undefined, start);
  const policy = nextLiveState(config(jira('JIRA_TOKEN', { groups: ['eng'] })), first.state, start);
  t.equal(policy.state.served.get('jira'), first.state.served.get('jira'), 'a policy change keeps the backend');
  const renamed = nextLiveState(config(jira('ATLASSIAN_TOKEN')), first.state, start);
  t.not(renamed.state.served.get('jira'), first.state.served.get('jira'), 'another variable: a new backend');
  t.same(started, ['JIRA_TOKEN', 'ATLASSIAN_TOKEN']);
});

t.test('when a token file is renewed: inside the cache margin, or halfway through a short lifetime', async (t) => {
  t.equal(renewalDelay(3600_000), 3600_000 - EXPIRY_MARGIN_MS + 1000, 'an hour: just inside the margin');
  t.ok(3600_000 - renewalDelay(3600_000) > 30_000, 'well before it expires');
  t.equal(renewalDelay(4000), 2000, 'a short lifetime: halfway');
  t.equal(renewalDelay(-5000), 1000, 'already expired: soon, never at once');
  t.equal(retryDelay(3000), 1500, 'a failed renewal is retried sooner while the token is valid');
  t.equal(retryDelay(undefined), 30_000);
  t.equal(retryDelay(-1), 30_000, 'an expired token: every 30 s');
});
