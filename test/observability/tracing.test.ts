// OpenTelemetry tracing through the real proxy (DESIGN §13): an HTTP and a stdio backend, an
// API-key principal, spans exported over OTLP/HTTP to an in-test receiver and read back: names,
// parent/child links, the trace context the backends received, and no secret in any byte.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiKey, startRecorder, stdioRecorder } from '../helpers/hostile.js';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startProxy } from '../helpers/proxy.js';
import { MCP_ACCEPT, mcpSession, readRpc, rpc } from '../helpers/session-client.js';
import { ROOT } from '../helpers/spawn.js';
import { startClientCredentialsIdp } from '../helpers/upstream-idp.js';

const SERVER = 2;
const CLIENT = 3;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const traceparent = (span = CLIENT_SPAN) => `00-${TRACE_ID}-${span}-01`;
const parseParent = (tp: string) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(tp);

const ARG_SECRET = 'argument-value-3f9c1d7e-do-not-export';
const COOKIE_SECRET = 'cookie-value-8a7b6c5d-do-not-export';
const BEARER_SECRET = 'bearer-token-1e2d3c4b-do-not-export';
const QUERY_SECRET = 'query-token-9f8e7d6c-do-not-export';
const bot = apiKey('tracer', 'svc:tracer', { groups: ['bots'] });
const API_KEY = bot.headers['x-api-key']!;

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

t.test('spans for the request, identity, policy and backend calls, linked and exported', async (t) => {
  const receiver = await startOtlpReceiver();
  const rec = await startRecorder();
  const stdio = stdioRecorder();
  const proxy = await startProxy({
    apiKeys: [bot.config],
    backends: [{ name: 'web', http: { url: rec.url } }, stdio.backend('kid', 'session')],
    telemetry: { otlp: { endpoint: `${receiver.endpoint}/` }, serviceName: 'proxy-under-test' },
  });
  t.teardown(() => Promise.all([rec.close(), receiver.close()]));

  // HTTP backend: the client's trace continued, its credential, cookie and argument sent along.
  const res = await fetch(`${proxy.url}/mcp/web`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: MCP_ACCEPT,
      'x-api-key': API_KEY,
      cookie: `other=${COOKIE_SECRET}`,
      traceparent: traceparent(),
      tracestate: 'vendor=opaque',
    },
    body: rpc('tools/call', { name: 'echo', arguments: { text: ARG_SECRET } }, 7),
  });
  t.equal(res.status, 200);
  t.same((await readRpc(res)).result, { ok: true });
  const sent = rec.seen.at(-1)!;
  const received = parseParent(String(sent.headers.traceparent));
  t.ok(received, `the backend received a traceparent: ${sent.headers.traceparent}`);
  t.equal(received?.[1], TRACE_ID, 'in the client trace');
  t.not(received?.[2], CLIENT_SPAN, "not the client's own span: the proxy's");
  t.equal(sent.headers.tracestate, 'vendor=opaque', 'tracestate continued');

  // stdio backend: a session, then a call; the trace context rides in each request's _meta.
  const session = await mcpSession(`${proxy.url}/mcp/kid`, { ...bot.headers, traceparent: traceparent() });
  const called = await session.call(
    'tools/call',
    { name: 'echo', arguments: { text: ARG_SECRET }, _meta: { traceparent: traceparent('1111111111111111') } },
    { traceparent: traceparent('2222222222222222') },
  );
  t.equal(called.status, 200);
  t.same((await readRpc(called)).result, { ok: true });
  const toChild = stdio.seen().find((m) => m.method === 'tools/call');
  const metaParent = parseParent(String(toChild?.params?._meta?.traceparent));
  t.ok(metaParent, `the child received _meta.traceparent: ${toChild?.params?._meta?.traceparent}`);
  t.equal(metaParent?.[1], TRACE_ID);
  t.same(toChild?.params?.arguments, { text: ARG_SECRET }, 'arguments untouched');

  // A bearer token nobody issued: refused, its verification traced (and the token never exported).
  const refused = await fetch(`${proxy.url}/mcp/web`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${BEARER_SECRET}` },
    body: rpc('tools/list'),
  });
  t.equal(refused.status, 401);
  await refused.text();
  const inQuery = await fetch(`${proxy.url}/mcp/web?access_token=${QUERY_SECRET}`, { headers: bot.headers });
  t.equal(inQuery.status, 401, 'a token in the query string is refused');
  await inQuery.text();

  await proxy.close(); // the batch is flushed on close
  const spans = receiver.spans;
  t.ok(
    receiver.paths.every((p) => p === '/v1/traces'),
    'exported to <endpoint>/v1/traces',
  );
  t.ok(
    spans.every((s) => s.service === 'proxy-under-test'),
    'service.name from telemetry.serviceName',
  );

  // HTTP call: client span → server span → {identity → token.verify, policy, backend.call}.
  const backendSpan = spans.find((s) => s.spanId === received?.[2]);
  t.ok(backendSpan, 'the traceparent the backend received is an exported span');
  t.equal(backendSpan?.name, 'backend.call');
  t.equal(backendSpan?.kind, CLIENT, 'a client span');
  t.match(backendSpan?.attributes, { 'mcp_proxy.backend': 'web', 'http.response.status_code': 200 });
  const server = spans.find((s) => s.spanId === backendSpan?.parentSpanId);
  t.equal(server?.kind, SERVER, 'its parent is the server span');
  t.equal(server?.parentSpanId, CLIENT_SPAN, "the server span continues the client's traceparent");
  t.equal(server?.traceId, TRACE_ID);
  t.match(server?.attributes, {
    'http.route': '/mcp/:backend',
    'http.request.method': 'POST',
    'http.response.status_code': 200,
    'mcp_proxy.backend': 'web',
    'mcp.method.name': 'tools/call',
    'gen_ai.tool.name': 'echo',
  });
  const kids = childrenOf(spans, server!);
  t.same(kids.map((s) => s.name).sort(), ['backend.call', 'identity', 'policy']);
  const policy = byName(kids, 'policy')[0];
  t.match(policy?.attributes, { 'mcp_proxy.policy.decision': 'allow', 'gen_ai.tool.name': 'echo' });
  const identity = byName(kids, 'identity')[0]!;
  t.equal(identity.attributes['mcp_proxy.identity.source'], 'apikey');
  const verify = childrenOf(spans, identity);
  t.same(
    verify.map((s) => [s.name, s.attributes['mcp_proxy.token.kind']]),
    [['token.verify', 'api_key']],
  );

  // stdio call: the child's _meta.traceparent is the round-trip span, under the call's server span.
  const roundTrip = spans.find((s) => s.spanId === metaParent?.[2]);
  t.equal(roundTrip?.name, 'stdio.round_trip');
  t.equal(roundTrip?.kind, CLIENT);
  const stdioServer = spans.find((s) => s.spanId === roundTrip?.parentSpanId);
  t.equal(stdioServer?.parentSpanId, '2222222222222222', "continued from the call's traceparent header");
  t.equal(stdioServer?.attributes['gen_ai.tool.name'], 'echo');

  // The refused bearer token: a failed token.verify under identity, a 401 server span.
  const failed = byName(spans, 'token.verify').find((s) => s.status?.code === 2);
  t.ok(failed, 'a failed verification');
  t.equal(failed?.attributes['error.type'], 'INVALID_TOKEN');

  // No secret in any exported byte.
  const raw = receiver.raw();
  t.ok(raw.length > 0);
  for (const secret of [ARG_SECRET, COOKIE_SECRET, BEARER_SECRET, QUERY_SECRET, API_KEY])
    t.notOk(raw.includes(secret), `not exported: ${secret.slice(0, 12)}…`);
  t.notOk(raw.includes(bot.config.sha256), "not even the API key's digest");
});

t.test('token exchange: a span per upstream credential, its kind and failure, never the token', async (t) => {
  const receiver = await startOtlpReceiver();
  const rec = await startRecorder();
  const cc = await startClientCredentialsIdp();
  const upstream = (clientSecret: string) => ({
    kind: 'clientCredentials',
    tokenEndpoint: cc.tokenEndpoint,
    clientId: cc.clientId,
    clientSecret,
    scopes: ['reports'],
  });
  const proxy = await startProxy({
    apiKeys: [bot.config],
    backends: [
      { name: 'reports', http: { url: rec.url }, upstream: upstream(cc.clientSecret) },
      { name: 'refused', http: { url: rec.url }, upstream: upstream('wrong-secret-5a6b7c8d') },
    ],
    telemetry: { otlp: { endpoint: receiver.endpoint } },
  });
  t.teardown(() => Promise.all([rec.close(), receiver.close(), cc.close()]));
  const post = (backend: string) =>
    fetch(`${proxy.url}/mcp/${backend}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...bot.headers },
      body: rpc('tools/list'),
    }).then(async (r) => ({ status: r.status, body: await readRpc(r) }));
  t.equal((await post('reports')).status, 200);
  const issued = String(rec.seen.at(-1)?.headers.authorization).slice('Bearer '.length);
  t.ok(issued.length > 10, 'the backend got the upstream token');
  const refused = await post('refused');
  t.equal(refused.body.error?.data?.code, 'UPSTREAM_TOKEN_FAILED');
  await proxy.close();

  const exchanges = byName(receiver.spans, 'token.exchange');
  t.same(exchanges.map((s) => [s.attributes['mcp_proxy.backend'], s.attributes['mcp_proxy.upstream.kind']]).sort(), [
    ['refused', 'clientCredentials'],
    ['reports', 'clientCredentials'],
  ]);
  for (const x of exchanges) {
    const parent = receiver.spans.find((s) => s.spanId === x.parentSpanId);
    t.equal(parent?.kind, SERVER, 'under the request span');
  }
  const failed = exchanges.find((s) => s.attributes['mcp_proxy.backend'] === 'refused');
  t.equal(failed?.status?.code, 2);
  t.equal(failed?.attributes['error.type'], 'UPSTREAM_TOKEN_FAILED');
  const raw = receiver.raw();
  for (const secret of [issued, cc.clientSecret, 'wrong-secret-5a6b7c8d', API_KEY])
    t.notOk(raw.includes(secret), `not exported: ${secret.slice(0, 12)}…`);
  t.ok(
    receiver.spans.every((s) => s.service === 'mcp-oidc-proxy'),
    'serviceName defaults to mcp-oidc-proxy',
  );
});

t.test('off by default: no span, no export, the client trace context passed on untouched', async (t) => {
  const receiver = await startOtlpReceiver();
  const rec = await startRecorder();
  const proxy = await startProxy({ apiKeys: [bot.config], backends: [{ name: 'web', http: { url: rec.url } }] });
  t.teardown(() => Promise.all([rec.close(), receiver.close()]));
  const res = await fetch(`${proxy.url}/mcp/web`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...bot.headers, traceparent: traceparent() },
    body: rpc('tools/list'),
  });
  t.equal(res.status, 200);
  await res.text();
  t.equal(rec.seen.at(-1)?.headers.traceparent, traceparent(), "the client's traceparent, as it was");
  await proxy.close();
  t.equal(receiver.raw(), '', 'nothing exported');
  t.equal(proxy.config.telemetry, undefined);
});

t.test('the SDK is imported in one module only, dynamically (nothing loaded when off)', async (t) => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(join(ROOT, 'src'));
  const importing = files.filter((f) => /^import (?!type )[^;]*'@opentelemetry\//m.test(readFileSync(f, 'utf8')));
  t.same(
    importing.map((f) => f.slice(ROOT.length)),
    ['src/observability/tracing-sdk.ts'],
  );
  const loader = readFileSync(join(ROOT, 'src/observability/tracing.ts'), 'utf8');
  t.match(loader, /await import\('\.\/tracing-sdk\.js'\)/);
  t.notMatch(loader, /^import [^;]*tracing-sdk/m);
});
