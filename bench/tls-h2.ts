/**
 * HTTP/1.1 against HTTP/2 (ALPN) for MCP POSTs over TLS, through the proxy (an API key, the demo
 * HTTP backend): the same proxy built twice, once with Fastify's `http2: true` + `allowHTTP1`
 * (AppDeps.http2, measurement only). Also checks that an SSE answer (a long tool call) streams
 * over HTTP/2. Prints one line per protocol and the ratio.
 *
 *   TS_NODE_COMPILER=typescript5 TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import bench/tls-h2.ts
 *   BENCH_SECONDS=3 (per protocol), BENCH_CONNECTIONS=10 (requests in flight)
 */
import { PassThrough } from 'node:stream';
import { Agent, request } from 'undici';
import { startDemoHttpServer } from '../examples/demo-http-server.mjs';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/app/config.js';
import { hashApiKey } from '../src/tokens/apikeys.js';
import { TestCa } from '../test/helpers/cert-authority.js';
import { freePort } from '../test/helpers/ports.js';
import { TEST_SESSION_KEY } from '../test/helpers/proxy.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const KEY = 'bench-key-0123456789';
const ca = new TestCa('Bench CA');
const cert = ca.server();
const backend = await startDemoHttpServer();

async function proxy(http2: boolean) {
  const port = await freePort();
  const { config, problems } = loadConfig({
    doc: {
      // Not loopback-bound: the Host check reads `Host`, which HTTP/2 replaces with `:authority`.
      server: { host: '0.0.0.0', port, logLevel: 'warn', tls: { cert: cert.cert, key: cert.key } },
      session: { keys: [TEST_SESSION_KEY] },
      apiKeys: [{ name: 'bench', sha256: hashApiKey(KEY), subject: 'svc:bench' }],
      backends: [{ name: 'demo', http: { url: backend.url } }],
      audit: { file: '/dev/null' },
    },
  });
  if (!config) throw new Error(problems.join('\n'));
  const logStream = new PassThrough();
  if (process.env.BENCH_LOG) logStream.pipe(process.stderr);
  else logStream.resume();
  const built = await buildApp(config, { http2, logStream });
  await built.app.listen({ host: '127.0.0.1', port });
  return { url: config.server.publicUrl, close: () => built.app.close() };
}

const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': KEY };

async function session(url: string, agent: Agent): Promise<string> {
  const init = await request(`${url}/mcp/demo`, {
    dispatcher: agent,
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
  });
  await init.body.text();
  const sid = init.headers['mcp-session-id'] as string;
  const done = await request(`${url}/mcp/demo`, {
    dispatcher: agent,
    method: 'POST',
    headers: { ...json, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await done.body.dump();
  return sid;
}

async function measure(name: string, http2: boolean) {
  const p = await proxy(http2);
  const agent = new Agent({ connect: { ca: ca.pem() }, allowH2: http2, connections: http2 ? 1 : CONNECTIONS });
  const sid = await session(p.url, agent).catch((e: Error) => {
    process.stderr.write(`${name}: initialize failed: ${e.message}\n`);
    return '';
  });
  const headers = { ...json, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  // The stream check: a tool call answered as SSE arrives event by event.
  const stream = await request(`${p.url}/mcp/demo`, {
    dispatcher: agent,
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'slow_count', arguments: { n: 5, delayMs: 50 }, _meta: { progressToken: 'p' } },
    }),
  });
  const events = (await stream.body.text()).split('\n\n').filter((e) => e.includes('data:')).length;
  let id = 2;
  let done = 0;
  let failed = 0;
  const until = Date.now() + SECONDS * 1000;
  const body = () =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: id++,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    });
  const worker = async () => {
    while (Date.now() < until) {
      const r = await request(`${p.url}/mcp/demo`, { dispatcher: agent, method: 'POST', headers, body: body() });
      const text = await r.body.text();
      if (r.statusCode === 200) done++;
      else if (failed++ === 0) process.stderr.write(`${name}: HTTP ${r.statusCode} ${text.slice(0, 300)}\n`);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const rps = Math.round((done / (Date.now() - started)) * 1000);
  await agent.close();
  await p.close();
  process.stdout.write(`${name}: ${rps} MCP POSTs/s (${failed} failed), SSE tool call: ${events} events\n`);
  return rps;
}

try {
  const h1 = await measure('HTTP/1.1 over TLS', false);
  const h2 = await measure('HTTP/2 over TLS  ', true);
  process.stdout.write(`h2 / h1: ${(h2 / h1).toFixed(2)}\n`);
} finally {
  await backend.close();
}
