// GET /metrics through the real proxy: real HTTP and stdio backends, real API-key and browser
// principals, a real IdP and authorization server; the exposition text is parsed and read back.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { apiKey, startRecorder, stdioRecorder } from '../helpers/hostile.js';
import { codeFlowTokens, register, tokenRequest } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { INITIALIZE, MCP_ACCEPT, loginThroughProxy, mcpSession, readRpc, rpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { stdioBackend } from '../helpers/stdio-stack.js';

type Labels = Record<string, string>;
interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** Prometheus text exposition (0.0.4): one sample per non-comment line, `name{l="v",…} value`. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Labels = {};
    const rest = (m[2] ?? '').replace(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g,
      (_all, k: string, v: string) => {
        labels[k] = v.replace(/\\(["\\n])/g, (_e, c: string) => (c === 'n' ? '\n' : c));
        return '';
      },
    );
    if (rest) throw new Error(`bad labels in: ${line}`);
    const raw = m[3]!;
    samples.push({ name: m[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

const sameLabels = (a: Labels, b: Labels) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);
const hasLabels = (a: Labels, b: Labels) => Object.entries(b).every(([k, v]) => a[k] === v);

async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const samples = parseExposition(text);
  return {
    res,
    text,
    samples,
    /** The value of the one sample with exactly these labels (undefined: no such series). */
    exact: (name: string, labels: Labels = {}) =>
      samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value,
    /** Sum over every sample carrying these labels (and maybe others). */
    sum: (name: string, labels: Labels = {}) =>
      samples.filter((s) => s.name === name && hasLabels(s.labels, labels)).reduce((n, s) => n + s.value, 0),
  };
}

/** Responses are counted when they end: wait for a condition rather than a fixed delay. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    v = await read();
  }
  return v;
}

const REQUESTS = 'mcp_proxy_requests_total';
const req = (backend: string, method: string, status: number, decision: string) => ({
  backend,
  method,
  status: String(status),
  decision,
});

const demo = await startDemoHttpServer();
const rec = await startRecorder();
const bot = apiKey('metrics-bot', 'svc:metrics-bot', { email: 'metrics-bot@example.com' });
const proxy = await startProxy({
  apiKeys: [bot.config],
  backends: [
    { name: 'demo', http: { url: demo.url }, tools: [{ match: 'delete_*', deny: true }, { match: '*' }] },
    { name: 'rec', http: { url: rec.url } },
    stdioBackend('legacy', 'session'),
  ],
});
t.teardown(async () => {
  await proxy.close();
  await demo.close();
  await rec.close();
});
const mcpPost = (path: string, body: string, headers: Record<string, string> = bot.headers) =>
  fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body,
  });
const seenSessionIds: string[] = [];

t.test('GET /metrics: Prometheus text, no credentials, process metrics under the same prefix', async (t) => {
  const m = await scrape(proxy.url);
  t.equal(m.res.status, 200);
  t.match(m.res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.ok(m.samples.length > 20, 'samples parsed');
  t.ok(
    m.samples.every((s) => s.name.startsWith('mcp_proxy_')),
    'every name carries the mcp_proxy_ prefix',
  );
  t.ok(m.exact('mcp_proxy_process_cpu_user_seconds_total')! >= 0, 'process CPU');
  t.ok(m.exact('mcp_proxy_process_resident_memory_bytes')! > 0, 'resident memory');
  t.ok(
    m.samples.some((s) => s.name === 'mcp_proxy_nodejs_eventloop_lag_seconds'),
    'event loop lag',
  );
  t.equal(m.exact('mcp_proxy_tokens_total', { event: 'issued' }), 0, 'token counters start at 0');
  t.equal(m.exact('mcp_proxy_sse_streams'), 0);
});

t.test('HTTP backend: calls counted by method, status and decision; session gauge 1 then 0 after DELETE', async (t) => {
  const url = `${proxy.url}/mcp/demo`;
  const s = await mcpSession(url, bot.headers);
  seenSessionIds.push(s.sessionId);
  const echo = await readRpc(await s.call('tools/call', { name: 'echo', arguments: { text: 'hello' } }));
  t.match(JSON.stringify(echo.result), 'hello');
  const denied = await readRpc(await s.call('tools/call', { name: 'delete_everything', arguments: {} }));
  t.equal(denied.error.code, -32003, 'refused by the tool rule');

  let m = await eventually(
    () => scrape(proxy.url),
    (m) => m.exact(REQUESTS, req('demo', 'tools/call', 200, 'deny')) === 1,
  );
  t.equal(m.exact(REQUESTS, req('demo', 'initialize', 200, 'allow')), 1);
  t.equal(m.exact(REQUESTS, req('demo', 'notifications/initialized', 202, 'allow')), 1);
  t.equal(m.exact(REQUESTS, req('demo', 'tools/call', 200, 'allow')), 1);
  t.equal(m.exact(REQUESTS, req('demo', 'tools/call', 200, 'deny')), 1);
  t.equal(m.sum(REQUESTS, { backend: 'demo' }), 4, 'nothing else was counted for demo');
  t.equal(m.exact('mcp_proxy_mcp_sessions', { backend: 'demo' }), 1, 'one session known');
  t.ok(m.exact('mcp_proxy_request_duration_seconds_count', { backend: 'demo' })! >= 4);
  t.ok(m.exact('mcp_proxy_request_duration_seconds_sum', { backend: 'demo' })! > 0);
  t.ok(
    m.exact('mcp_proxy_request_duration_seconds_bucket', { backend: 'demo', le: '+Inf' })! >= 4,
    'histogram buckets',
  );
  t.equal(
    m.exact('mcp_proxy_backend_duration_seconds_count', { backend: 'demo' }),
    3,
    'the denied call never waited for the backend',
  );
  t.ok(
    m.exact('mcp_proxy_overhead_seconds_count', { backend: 'demo' })! >= 1,
    'overhead for the non-streamed answer (202)',
  );

  const del = await fetch(url, { method: 'DELETE', headers: s.headers });
  t.equal(del.status, 200);
  m = await eventually(
    () => scrape(proxy.url),
    (m) => m.exact(REQUESTS, req('demo', 'DELETE', 200, 'allow')) === 1,
  );
  t.equal(m.exact(REQUESTS, req('demo', 'DELETE', 200, 'allow')), 1);
  t.equal(m.exact('mcp_proxy_mcp_sessions', { backend: 'demo' }), 0, 'the session is gone');
});

t.test('anonymous, unknown backends, unknown methods and batches: bounded labels', async (t) => {
  const anon = await mcpPost('/mcp/demo', INITIALIZE, {});
  t.equal(anon.status, 401);
  const nowhere = `nope-${randomUUID()}`;
  t.equal((await mcpPost(`/mcp/${nowhere}`, INITIALIZE)).status, 404);
  const weird = `x-evil/${randomUUID()}`;
  t.equal((await mcpPost('/mcp/rec', rpc(weird, {}, 1))).status, 200);
  t.equal(
    (await mcpPost('/mcp/rec', JSON.stringify([JSON.parse(rpc('ping', {}, 1)), JSON.parse(rpc('ping', {}, 2))])))
      .status,
    200,
  );
  t.equal((await mcpPost('/mcp/rec', rpc('ping', {}, 3))).status, 200);

  const m = await eventually(
    () => scrape(proxy.url),
    (m) => m.exact(REQUESTS, req('rec', 'ping', 200, 'allow')) === 1,
  );
  t.equal(m.exact(REQUESTS, req('demo', 'initialize', 401, 'unauthenticated')), 1, 'the anonymous call');
  t.equal(m.exact(REQUESTS, req('unknown', 'initialize', 404, 'error')), 1, 'an unknown backend is "unknown"');
  t.equal(m.exact(REQUESTS, req('rec', 'other', 200, 'allow')), 1, 'an unknown method is "other"');
  t.equal(m.exact(REQUESTS, req('rec', 'batch', 200, 'allow')), 1);
  t.equal(m.exact(REQUESTS, req('rec', 'ping', 200, 'allow')), 1);
  t.notOk(m.text.includes(nowhere), 'no client-chosen backend name');
  t.notOk(m.text.includes('x-evil'), 'no client-chosen method name');
  t.equal(m.exact('mcp_proxy_overhead_seconds_count', { backend: 'rec' }), 3, 'JSON answers: overhead observed');
  t.equal(m.exact('mcp_proxy_backend_duration_seconds_count', { backend: 'rec' }), 3);
  const methods = new Set(m.samples.filter((s) => s.name === REQUESTS).map((s) => s.labels.method));
  t.ok(
    [...methods].every((x) => /^(GET|DELETE|batch|other|response|[a-z]+(\/[a-zA-Z_]+)*)$/.test(x!)),
    `method labels: ${[...methods].join(', ')}`,
  );
});

t.test('stdio backend: sessions, processes, GET streams and backend time', async (t) => {
  const url = `${proxy.url}/mcp/legacy`;
  const s = await mcpSession(url, bot.headers);
  seenSessionIds.push(s.sessionId);
  const echo = await readRpc(await s.call('tools/call', { name: 'echo', arguments: { text: 'from stdio' } }));
  t.match(JSON.stringify(echo.result), 'from stdio');
  const abort = new AbortController();
  const stream = await fetch(url, { headers: { ...s.headers, accept: 'text/event-stream' }, signal: abort.signal });
  t.equal(stream.status, 200);

  let m = await eventually(
    () => scrape(proxy.url),
    (m) => m.exact('mcp_proxy_sse_streams') === 1,
  );
  t.equal(m.exact('mcp_proxy_sse_streams'), 1, 'the GET stream is open');
  t.equal(m.exact('mcp_proxy_mcp_sessions', { backend: 'legacy' }), 1);
  t.equal(
    m.exact('mcp_proxy_stdio_processes', { backend: 'legacy', state: 'idle' }),
    1,
    'one child, a session attached, nothing in flight',
  );
  t.equal(m.exact('mcp_proxy_stdio_processes', { backend: 'legacy', state: 'busy' }), 0);
  t.equal(m.exact(REQUESTS, req('legacy', 'tools/call', 200, 'allow')), 1);
  t.equal(
    m.exact('mcp_proxy_backend_duration_seconds_count', { backend: 'legacy' }),
    2,
    'initialize and tools/call waited for the child',
  );
  t.equal(m.exact('mcp_proxy_overhead_seconds_count', { backend: 'legacy' }), 2, 'both answered as JSON');

  abort.abort();
  m = await eventually(
    () => scrape(proxy.url),
    (m) => m.exact('mcp_proxy_sse_streams') === 0 && m.exact(REQUESTS, req('legacy', 'GET', 200, 'allow')) === 1,
  );
  t.equal(m.exact('mcp_proxy_sse_streams'), 0, 'the stream closed');
  t.equal(m.exact(REQUESTS, req('legacy', 'GET', 200, 'allow')), 1, 'a stream is counted when it ends');

  t.equal((await fetch(url, { method: 'DELETE', headers: s.headers })).status, 200);
  m = await eventually(
    () => scrape(proxy.url),
    (m) => m.sum('mcp_proxy_stdio_processes', { backend: 'legacy' }) === 0,
  );
  t.equal(m.exact('mcp_proxy_mcp_sessions', { backend: 'legacy' }), 0);
  t.equal(m.sum('mcp_proxy_stdio_processes', { backend: 'legacy' }), 0, 'the per-session child stopped');
  t.equal(m.exact(REQUESTS, req('legacy', 'DELETE', 200, 'allow')), 1);
});

t.test('no identity in the metrics: no sub, email, key or session id', async (t) => {
  const { text, samples } = await scrape(proxy.url);
  for (const secret of ['svc:metrics-bot', 'metrics-bot@example.com', bot.headers['x-api-key']!, ...seenSessionIds])
    t.notOk(text.includes(secret), `"${secret.slice(0, 12)}…" absent`);
  const labelNames = new Set(samples.flatMap((s) => Object.keys(s.labels)));
  for (const n of ['sub', 'email', 'user', 'token', 'session', 'cookie']) t.notOk(labelNames.has(n), `no "${n}" label`);
});

t.test('browser logins and authorization-server tokens are counted', async (t) => {
  const stack = await startStack({ consent: false });
  t.teardown(() => stack.close());
  const url = stack.proxy.url;
  const noLogin = await fetch(`${url}/oauth/callback?code=abc&state=xyz`, { redirect: 'manual' });
  t.equal(noLogin.status, 400);
  const { cookie } = await loginThroughProxy(url, 'alice');
  t.ok(cookie);
  let m = await scrape(url);
  t.equal(m.exact('mcp_proxy_logins_total', { result: 'success' }), 1, 'one login');
  t.equal(
    m.exact('mcp_proxy_logins_total', { result: 'failure', reason: 'no_transaction' }),
    1,
    'a callback without a login in progress',
  );
  t.equal(m.exact('mcp_proxy_tokens_total', { event: 'issued' }), 0);

  const REDIRECT = 'http://127.0.0.1:33418/callback';
  const resource = `${url}/mcp/demo`;
  const { meta, client } = await register(url, REDIRECT);
  const tok = await codeFlowTokens(meta, { clientId: client.client_id, redirect: REDIRECT, resource, user: 'bob' });
  t.equal(tok.status, 200);
  const refreshed = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: tok.body.refresh_token!,
    client_id: client.client_id,
    resource,
  });
  t.equal(refreshed.status, 200);
  const rev = await fetch(meta.revocation_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshed.body.refresh_token!, client_id: client.client_id }),
  });
  t.equal(rev.status, 200);

  m = await scrape(url);
  t.equal(
    m.exact('mcp_proxy_tokens_total', { event: 'issued' }),
    2,
    'code exchange and refresh each issued an access token',
  );
  t.equal(m.exact('mcp_proxy_tokens_total', { event: 'refreshed' }), 1);
  t.equal(m.exact('mcp_proxy_tokens_total', { event: 'revoked' }), 1);
  for (const secret of [
    'alice',
    'bob@example.com',
    tok.body.access_token!,
    tok.body.refresh_token!,
    client.client_id,
    cookie.split('=')[1]!.slice(0, 40),
  ])
    t.notOk(m.text.includes(secret), `"${secret.slice(0, 12)}…" absent`);
});

t.test('store failures are counted by operation', async (t) => {
  // A Redis store nobody listens for: every call fails (within ioredis' retry budget). A stdio
  // session is recorded in the store for the other replicas (server.advertiseUrl).
  const p = await startProxy({
    server: { advertiseUrl: 'http://127.0.0.1:9' },
    apiKeys: [bot.config],
    backends: [stdioRecorder().backend('rec')],
    store: { kind: 'redis', url: `redis://127.0.0.1:${await freePort()}` },
  });
  t.teardown(() => p.close());
  const res = await fetch(`${p.url}/mcp/rec`, {
    method: 'POST',
    headers: { ...bot.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(res.status, 503, 'the session could not be recorded for the other replicas: refused');
  const m = await scrape(p.url);
  t.ok(m.exact('mcp_proxy_store_errors_total', { operation: 'set' })! >= 1, 'the failed set is counted');
  t.equal(m.exact(REQUESTS, req('rec', 'initialize', 503, 'error')), 1);
});

t.test('metrics.enabled: false answers 404', async (t) => {
  const p = await startProxy({
    apiKeys: [bot.config],
    backends: [{ name: 'rec', http: { url: rec.url } }],
    metrics: { enabled: false },
  });
  t.teardown(() => p.close());
  t.equal((await fetch(`${p.url}/metrics`)).status, 404);
  t.equal((await fetch(`${p.url}/healthz`)).status, 200);
  const ping = await fetch(`${p.url}/mcp/rec`, {
    method: 'POST',
    headers: { ...bot.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: rpc('ping'),
  });
  t.equal(ping.status, 200, 'MCP still works');
});

t.test('a backend added by a reload is counted under its own name, not "unknown"', async (t) => {
  const p = await startProxy({ apiKeys: [bot.config], backends: [{ name: 'rec', http: { url: rec.url } }] });
  t.teardown(() => p.close());
  const rec2 = { ...p.config.backends[0]!, name: 'added' };
  t.equal(p.reload({ ...p.config, backends: [...p.config.backends, rec2] }).ok, true, 'reloaded');
  const ping = await fetch(`${p.url}/mcp/added`, {
    method: 'POST',
    headers: { ...bot.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: rpc('ping'),
  });
  t.equal(ping.status, 200);
  const m = await eventually(
    () => scrape(p.url),
    (m) => m.exact(REQUESTS, req('added', 'ping', 200, 'allow')) === 1,
  );
  t.equal(m.exact(REQUESTS, req('added', 'ping', 200, 'allow')), 1);
  t.equal(m.sum(REQUESTS, { backend: 'unknown' }), 0);
});
