// Configuration reload without downtime: the real CLI and SIGHUP, real HTTP backends on
// loopback, real stdio children (src/config/reload.ts).
import t from 'tap';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { loadConfig, type Config } from '../../src/app/config.js';
import { apiKey } from '../helpers/hostile.js';
import { freePort } from '../helpers/ports.js';
import { startProxy, TEST_SESSION_KEY, OTHER_SESSION_KEY } from '../helpers/proxy.js';
import { MCP_ACCEPT, INITIALIZE, mcpSession, readRpc } from '../helpers/session-client.js';
import { BIN, startAndWait } from '../helpers/spawn.js';
import { demoChildren, stdioBackend, whoami } from '../helpers/stdio-stack.js';

const dir = mkdtempSync(join(tmpdir(), 'reload-'));
const KEEP = apiKey('keep', 'svc:keep');
const GONE = apiKey('gone', 'svc:gone');
const ADDED = apiKey('added', 'svc:added');

/** Write a config document as the file (JSON is YAML), replacing it as editors do. */
function writeConfig(file: string, doc: Record<string, unknown>): string {
  writeFileSync(`${file}.tmp`, JSON.stringify(doc));
  renameSync(`${file}.tmp`, file);
  return file;
}

/** An in-process proxy's log lines as output text, for events(). */
const linesOf = (proxy: { logs(): Array<Record<string, unknown>> }) => () =>
  proxy
    .logs()
    .map((l) => JSON.stringify(l))
    .join('\n');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON log lines of `output()` with this event, waiting until at least `count` exist. */
async function events(
  output: () => string,
  event: string,
  count = 1,
  timeoutMs = 10_000,
): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = output()
      .split('\n')
      .filter((l) => l.includes(`"event":"${event}"`))
      .map((l) => JSON.parse(l));
    if (found.length >= count || Date.now() > deadline) return found;
    await sleep(50);
  }
}

/** Call a tool in an MCP session; the JSON-RPC answer. */
async function callTool(s: Awaited<ReturnType<typeof mcpSession>>, name: string, args: Record<string, unknown> = {}) {
  const res = await s.call('tools/call', { name, arguments: args });
  return { status: res.status, msg: await readRpc(res) };
}

async function startCli(t: { teardown(fn: () => unknown): void }, doc: (port: number) => Record<string, unknown>) {
  const port = await freePort();
  const file = writeConfig(join(dir, `proxy-${port}.yaml`), doc(port));
  const { child, output } = await startAndWait(BIN, ['--config', file], {}, `http://127.0.0.1:${port}/healthz`);
  t.teardown(() => void child.kill('SIGKILL'));
  return { child, output, file, port, base: `http://127.0.0.1:${port}` };
}

const server = (port: number, extra: Record<string, unknown> = {}) => ({ port, ...extra });

t.test('SIGHUP applies a new backend, a changed tool rule and the new API keys', async (t) => {
  const demo = await startDemoHttpServer();
  const other = await startDemoHttpServer();
  t.teardown(() => Promise.all([demo.close(), other.close()]));
  const v1 = (port: number) => ({
    server: server(port),
    session: { keys: [TEST_SESSION_KEY] },
    apiKeys: [KEEP.config, GONE.config],
    backends: [{ name: 'demo', http: { url: demo.url }, tools: [{ match: 'echo' }] }],
  });
  const cli = await startCli(t, v1);
  const before = await mcpSession(`${cli.base}/mcp/demo`, KEEP.headers);
  t.equal((await callTool(before, 'echo', { text: 'one' })).msg.result.content[0].text, 'one');
  t.equal((await callTool(before, 'whoami')).msg.error.code, -32003, 'whoami is refused by the first rule set');
  t.ok(await mcpSession(`${cli.base}/mcp/demo`, GONE.headers), 'the key about to be removed works');
  t.equal(
    (
      await fetch(`${cli.base}/mcp/extra`, {
        method: 'POST',
        headers: { ...KEEP.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
        body: INITIALIZE,
      })
    ).status,
    404,
    'no backend "extra" yet',
  );

  writeConfig(cli.file, {
    ...v1(cli.port),
    apiKeys: [KEEP.config, ADDED.config],
    backends: [
      { name: 'demo', http: { url: demo.url }, tools: [{ match: 'whoami' }] },
      { name: 'extra', http: { url: other.url } },
    ],
  });
  cli.child.kill('SIGHUP');
  const [reloaded] = await events(cli.output, 'config.reloaded');
  t.ok(reloaded, 'config.reloaded logged');
  t.same(reloaded!.added, ['extra']);
  t.same(reloaded!.changed, ['demo']);
  t.same(reloaded!.removed, []);
  t.equal(reloaded!.apiKeys, 2);

  t.equal(
    (await callTool(before, 'echo', { text: 'two' })).msg.error.code,
    -32003,
    'the session opened before the reload gets the new rule: echo refused',
  );
  t.ok((await callTool(before, 'whoami')).msg.result, 'and whoami allowed');
  const extra = await mcpSession(`${cli.base}/mcp/extra`, ADDED.headers);
  t.equal(
    (await callTool(extra, 'echo', { text: 'new' })).msg.result.content[0].text,
    'new',
    'the new backend answers, with the new key',
  );
  t.equal(
    other.seen.filter((s) => JSON.stringify(s.body ?? '').includes('"new"')).length,
    1,
    'the call reached the new backend',
  );
  const removed = await fetch(`${cli.base}/mcp/demo`, {
    method: 'POST',
    headers: { ...GONE.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(removed.status, 401, 'the removed key is refused');
});

/** A proxy config document for in-process tests, on a fixed port so reloads compare equal servers. */
function inProcess(port: number, backends: unknown[], extra: Record<string, unknown> = {}) {
  return {
    server: { host: '127.0.0.1', port, logLevel: 'info', shutdownTimeout: '1s' },
    apiKeys: [KEEP.config],
    backends,
    ...extra,
  };
}
function configOf(doc: Record<string, unknown>): Config {
  const { config, problems } = loadConfig({ doc: { session: { keys: [TEST_SESSION_KEY] }, ...doc } });
  if (!config) throw new Error(problems.join('\n'));
  return config;
}

t.test('reloads under load lose no request', async (t) => {
  const demo = await startDemoHttpServer();
  const other = await startDemoHttpServer();
  t.teardown(() => Promise.all([demo.close(), other.close()]));
  const port = await freePort();
  const backend = (http: Record<string, unknown>, tools: unknown[]) => ({
    name: 'demo',
    http: { url: demo.url, ...http },
    tools,
  });
  const extraBackend = { name: 'extra', http: { url: other.url } };
  const variants = [
    [backend({}, [{ match: 'echo' }, { match: 'whoami' }])], // rule change: applied in place
    [backend({ timeout: '30s' }, [{ match: 'echo' }])], // definition change: a new pool, the old one drains
    [backend({ timeout: '30s' }, [{ match: 'echo' }]), extraBackend], // a backend added
    [backend({ timeout: '45s' }, [{ match: '*' }]), extraBackend], // changed again
    [backend({}, [{ match: 'echo' }])], // back, the extra backend removed
  ];
  const proxy = await startProxy(inProcess(port, [backend({}, [{ match: 'echo' }])]));
  t.teardown(() => proxy.close());
  const url = `${proxy.url}/mcp/demo`;

  let reloading = true;
  const results: Array<{ status: number | string; ok: boolean }> = [];
  const worker = async (w: number) => {
    const s = await mcpSession(url, KEEP.headers);
    for (let i = 0; i < 25 || reloading; i++) {
      const text = `w${w}-${i}`;
      try {
        const { status, msg } = await callTool(s, 'echo', { text });
        results.push({ status, ok: msg.result?.content?.[0]?.text === text });
      } catch (e) {
        results.push({
          status: (e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message,
          ok: false,
        });
      }
    }
  };
  const load = Promise.all(Array.from({ length: 10 }, (_, w) => worker(w)));
  const outcomes = [];
  for (const v of variants) {
    await sleep(120);
    outcomes.push(proxy.reload(configOf(inProcess(port, v))));
  }
  reloading = false;
  await load;
  t.same(
    outcomes.map((o) => o.ok),
    [true, true, true, true, true],
    'every reload applied',
  );
  t.same(
    outcomes.map((o) => o.changed?.changed),
    [['demo'], ['demo'], [], ['demo'], ['demo']],
  );
  t.ok(results.length >= 250, `${results.length} calls made`);
  const bad = results.filter((r) => r.status !== 200 || !r.ok);
  t.same(bad, [], 'every call answered 200 with its own text');
  const retired = await events(linesOf(proxy), 'backend.retired', 4);
  t.ok(retired.length >= 4, 'replaced and removed HTTP backends were closed after their grace');
});

t.test('an invalid new config is refused with every problem; the old config serves', async (t) => {
  const demo = await startDemoHttpServer();
  t.teardown(() => demo.close());
  const v1 = (port: number) => ({
    server: server(port),
    session: { keys: [TEST_SESSION_KEY] },
    apiKeys: [KEEP.config],
    backends: [{ name: 'demo', http: { url: demo.url } }],
  });
  const cli = await startCli(t, v1);
  writeConfig(cli.file, { ...v1(cli.port), backends: [{ name: 'demo', http: { url: 'ftp://nowhere' } }], what: 1 });
  cli.child.kill('SIGHUP');
  const [refused] = await events(cli.output, 'config.reload.refused');
  t.ok(refused, 'config.reload.refused logged');
  t.equal(refused!.problems.length, 2, 'both problems in one event');
  t.match(refused!.problems.join('\n'), /backends\[0\]\.http\.url: must be an http\(s\) URL/);
  t.match(refused!.problems.join('\n'), /what: unknown key/);
  const s = await mcpSession(`${cli.base}/mcp/demo`, KEEP.headers);
  t.equal(
    (await callTool(s, 'echo', { text: 'still' })).msg.result.content[0].text,
    'still',
    'the old config still serves',
  );
  t.equal((await events(cli.output, 'config.reloaded', 1, 0)).length, 0, 'nothing was reloaded');

  t.test('in process: keys that need a restart are named and nothing is applied', async (t) => {
    const port = await freePort();
    const proxy = await startProxy(inProcess(port, [{ name: 'demo', http: { url: demo.url } }]));
    t.teardown(() => proxy.close());
    const next = configOf({
      ...inProcess(
        port + 1,
        [
          { name: 'demo', http: { url: demo.url } },
          { name: 'extra', http: { url: demo.url } },
        ],
        { apiKeys: [GONE.config] }, // KEEP's key gone: it still working shows nothing was applied
      ),
      session: { keys: [OTHER_SESSION_KEY] },
    });
    const r = proxy.reload(next);
    t.equal(r.ok, false);
    t.match(r.problems!.join('\n'), /server\.port: changed, needs a restart/);
    t.match(r.problems!.join('\n'), /session: changed, needs a restart/);
    t.same(
      proxy.backends.all().map((b) => b.name),
      ['demo'],
      'backends untouched',
    );
    t.ok(await mcpSession(`${proxy.url}/mcp/demo`, KEEP.headers), 'the API key still works');
    t.ok(
      proxy.logs().some((l) => l.event === 'config.reload.refused'),
      'refusal logged',
    );
  });
});

t.test('stdio sessions survive a reload: same process when unchanged, drained when changed', async (t) => {
  const demo = await startDemoHttpServer();
  t.teardown(() => demo.close());
  const port = await freePort();
  const legacy = stdioBackend('legacy', 'session');
  const proxy = await startProxy(inProcess(port, [legacy, { name: 'demo', http: { url: demo.url } }]));
  t.teardown(() => proxy.close());
  const connect = async () => {
    const client = new Client({ name: 'reload-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/legacy`), {
      requestInit: { headers: KEEP.headers },
    });
    await client.connect(transport);
    return Object.assign(client, {
      end: async () => {
        await transport.terminateSession();
        await client.close();
      },
    });
  };
  const first = await connect();
  t.teardown(() => first.close().catch(() => undefined));
  const pid = (await whoami(first)).pid as number;
  t.ok((await demoChildren()).includes(pid));

  const r = proxy.reload(
    configOf(
      inProcess(port, [
        legacy,
        { name: 'demo', http: { url: demo.url }, tools: [{ match: 'echo' }] },
        { name: 'more', http: { url: demo.url } },
      ]),
    ),
  );
  t.equal(r.ok, true);
  t.same(r.changed, { added: ['more'], removed: [], changed: ['demo'], apiKeys: 1, policy: false, tenants: false });
  t.equal((await whoami(first)).pid, pid, 'an unchanged stdio backend keeps its process and session');

  // The stdio definition changes: the open session drains on its process, new sessions get the new one.
  const changed = { ...legacy, stdio: { ...legacy.stdio, env: { ...legacy.stdio.env, DEMO_VARIANT: '2' } } };
  t.same(
    proxy.reload(configOf(inProcess(port, [changed, { name: 'demo', http: { url: demo.url } }]))).changed?.changed,
    ['legacy', 'demo'],
  );
  t.equal((await whoami(first)).pid, pid, 'the session opened before the change keeps working on its process');
  const second = await connect();
  t.teardown(() => second.close().catch(() => undefined));
  const newPid = (await whoami(second)).pid as number;
  t.not(newPid, pid, 'a new session runs the new definition');
  await first.end();
  const deadline = Date.now() + 10_000;
  while ((await demoChildren()).includes(pid) && Date.now() < deadline) await sleep(100);
  t.notOk((await demoChildren()).includes(pid), 'the drained process stops once its last session ended');
  t.equal((await whoami(second)).pid, newPid, 'the new session is unaffected');
  const retired = await events(linesOf(proxy), 'backend.retired', 2);
  t.same(
    retired.map((l) => l.backend).sort(),
    ['legacy', 'more'],
    'the drained stdio backend (and the removed one) closed',
  );
});

t.test('server.watchConfig: editing the file reloads without a signal', async (t) => {
  const demo = await startDemoHttpServer();
  t.teardown(() => demo.close());
  const v1 = (port: number) => ({
    server: server(port, { watchConfig: true }),
    session: { keys: [TEST_SESSION_KEY] },
    apiKeys: [KEEP.config],
    backends: [{ name: 'demo', http: { url: demo.url } }],
  });
  const cli = await startCli(t, v1);
  await sleep(200);
  writeConfig(cli.file, {
    ...v1(cli.port),
    backends: [
      { name: 'demo', http: { url: demo.url } },
      { name: 'extra', http: { url: demo.url } },
    ],
  });
  const [reloaded] = await events(cli.output, 'config.reloaded');
  t.ok(reloaded, 'reloaded on the file change');
  t.same(reloaded!.added, ['extra']);
  t.equal((await events(cli.output, 'config.reload')).at(0)?.trigger, 'watch');
  const s = await mcpSession(`${cli.base}/mcp/extra`, KEEP.headers);
  t.equal((await callTool(s, 'echo', { text: 'watched' })).msg.result.content[0].text, 'watched');
});
