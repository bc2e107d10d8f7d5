/**
 * `npm run bench`: the proxy against its peers, in one run, on loopback.
 *
 * Backends: a raw HTTP MCP echo server and a raw stdio echo server (bench/servers/).
 * In front of them: this proxy (auth on: proxy-issued JWT, session cookie, API key; policy
 * on: one tool rule; audit on, to stdout as by default; the proxy's stdout goes to a file) and the baselines: direct, nginx (1 worker),
 * bare @fastify/http-proxy, supergateway and mcp-proxy. Prints the tables and the goals of
 * issue 7, writes bench/results/latest.json.
 *
 *   BENCH_SECONDS=5      seconds per throughput row (default 5)
 *   BENCH_SESSIONS=10000 idle sessions for the memory rows (default 10000; 1,000 is also reported)
 *   BENCH_PROFILE=1      the proxy runs with --cpu-prof (profiles in bench/profiles/)
 *   BENCH_ONLY=a,b       only these rows/phases (throughput labels, latency, sse, cold, memory)
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';
import { bearerToken, sessionCookie } from './lib/credentials.js';
import { firstEventDelay, openSessions, sequentialLatency, throughput, type Latency, type Target, type Throughput } from './lib/load.js';
import { startNginx } from './lib/nginx.js';
import { start, stopAll, stopProc, waitHttp } from './lib/procs.js';
import { startBenchProxy, type BenchProxy } from './lib/proxy.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const node = process.execPath;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const ONLY = process.env.BENCH_ONLY?.split(',');
const CONNECTIONS = 10;
const echoStdio = join(here, 'servers/echo-stdio.mjs');
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

const dir = mkdtempSync(join(tmpdir(), 'mcp-proxy-bench-'));
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version, connections: CONNECTIONS, seconds: SECONDS };

async function main() {
  // Backends and baselines.
  const echo = await start(node, [join(here, 'servers/echo-http.mjs')], { label: 'echo-http', waitListening: true });
  const direct = `http://127.0.0.1:${echo.port}/mcp`;
  const nginxPort = await freePort();
  await startNginx(dir, nginxPort, echo.port!);
  await waitHttp(`http://127.0.0.1:${nginxPort}/`);
  const fastifyProxy = await start(node, [join(here, 'servers/fastify-proxy.mjs'), `http://127.0.0.1:${echo.port}`], { label: '@fastify/http-proxy', waitListening: true });
  const sgPort = await freePort();
  await start(node, [join(root, 'node_modules/supergateway/dist/index.js'), '--stdio', `${node} ${echoStdio}`, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(sgPort), '--logLevel', 'none'], { label: 'supergateway' });
  const mpPort = await freePort();
  await start(node, [join(root, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs'), '--port', String(mpPort), '--host', '127.0.0.1', '--server', 'stream', '--', node, echoStdio], { label: 'mcp-proxy' });
  await waitHttp(`http://127.0.0.1:${sgPort}/healthz`).catch(() => waitHttp(`http://127.0.0.1:${sgPort}/mcp`));
  await waitHttp(`http://127.0.0.1:${mpPort}/mcp`);

  // The proxy, as users run it.
  const apiKey = randomBytes(24).toString('base64url');
  const proxy = await startProxy(echo.port!, apiKey);
  const P = proxy.url;
  log('getting credentials (login, OAuth flow)');
  const cookie = await sessionCookie(P);
  const bearer = { echo: await bearerToken(P, `${P}/mcp/echo`), stdio: await bearerToken(P, `${P}/mcp/stdio`), cold: await bearerToken(P, `${P}/mcp/stdio-cold`) };
  const auth = (b: keyof typeof bearer) => ({ authorization: `Bearer ${bearer[b]}` });
  const withSession = async (t: Target): Promise<Target> => ({ ...t, headers: { ...t.headers, 'mcp-session-id': (await openSessions(t, 1, 1))[0]! } });

  // Throughput (10 connections, tools/call echo).
  const http: Target[] = [
    { label: 'direct', url: direct, headers: {} },
    { label: 'nginx', url: `http://127.0.0.1:${nginxPort}/mcp`, headers: {} },
    { label: 'fastify-http-proxy', url: `http://127.0.0.1:${fastifyProxy.port}/mcp`, headers: {} },
    await withSession({ label: 'proxy+jwt', url: `${P}/mcp/echo`, headers: auth('echo') }),
    await withSession({ label: 'proxy+cookie', url: `${P}/mcp/echo`, headers: { cookie } }),
    await withSession({ label: 'proxy+apikey', url: `${P}/mcp/echo`, headers: { 'x-api-key': apiKey } }),
  ];
  const stdio: Target[] = [
    await withSession({ label: 'supergateway', url: `http://127.0.0.1:${sgPort}/mcp`, headers: {} }),
    await withSession({ label: 'mcp-proxy', url: `http://127.0.0.1:${mpPort}/mcp`, headers: {} }),
    await withSession({ label: 'proxy-stdio+jwt', url: `${P}/mcp/stdio`, headers: auth('stdio') }),
  ];
  const rows: Record<string, Throughput> = {};
  for (const t of [...http, ...stdio]) {
    if (ONLY && !ONLY.includes(t.label)) continue;
    log(`throughput: ${t.label}`);
    rows[t.label] = await throughput(t, CONNECTIONS, SECONDS);
  }
  results.throughput = rows;

  const want = (phase: string) => !ONLY || ONLY.includes(phase);
  if (want('latency')) {
    // Latency at one connection.
    log('latency at 1 connection');
    const latency: Record<string, Latency> = {};
    for (const t of http.filter((x) => ['direct', 'nginx', 'proxy+jwt', 'proxy+cookie'].includes(x.label))) latency[t.label] = await sequentialLatency(t, 3000);
    results.latency = latency;
  }
  if (want('sse')) {
    log('SSE first-event delay');
    results.sseFirstEventUs = { direct: await firstEventDelay(http[0]!, 300), proxy: await firstEventDelay(http[3]!, 300) };
  }
  if (want('cold')) {
    // stdio cold start: spawn → initialize answered, directly and through the proxy (isolation: session).
    log('stdio cold start');
    results.coldStartMs = { server: await directColdStart(), proxy: await median(7, () => proxyColdStart(`${P}/mcp/stdio-cold`, auth('cold'))) };
  }
  // Idle sessions: proxy heap and RSS per session, HTTP backend and shared stdio backend.
  const memory: Record<string, unknown> = {};
  for (const [label, t] of [['http', { label: 'sessions-http', url: `${P}/mcp/echo`, headers: auth('echo') }], ['stdio-shared', { label: 'sessions-stdio', url: `${P}/mcp/stdio`, headers: auth('stdio') }]] as const) {
    if (!want('memory')) break;
    log(`idle sessions: ${label}`);
    memory[label] = await idleSessions(proxy, t);
  }
  results.memory = memory;
  await finish(proxy);
}

async function finish(proxy: BenchProxy) {
  await stopProc(proxy.started.proc);
  printReport();
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('results written to bench/results/latest.json');
}

async function startProxy(echoPort: number, apiKey: string): Promise<BenchProxy> {
  const rule = { tools: [{ match: '*', allow: { groups: ['admin'], apiKeys: ['bench'] } }] };
  return startBenchProxy(dir, await freePort(), {
    session: { keys: [randomBytes(32).toString('base64')] },
    devIdp: { enabled: true, users: [{ username: 'alice', password: 'alice', email: 'alice@example.com', name: 'Alice', groups: ['admin'] }] },
    apiKeys: [{ name: 'bench', sha256: createHash('sha256').update(apiKey).digest('hex'), subject: 'bench-bot' }],
    backends: [
      { name: 'echo', default: true, http: { url: `http://127.0.0.1:${echoPort}/mcp` }, ...rule },
      { name: 'stdio', stdio: { command: node, args: [echoStdio], isolation: 'shared' }, ...rule },
      { name: 'stdio-cold', stdio: { command: node, args: [echoStdio], isolation: 'session', maxProcesses: 20 }, ...rule },
    ],
  }, { profileDir: process.env.BENCH_PROFILE === '1' ? join(here, 'profiles') : undefined });
}

async function idleSessions(proxy: BenchProxy, t: Target) {
  const before = (await proxy.probe()).usage;
  const out: Record<string, unknown> = {};
  const ids: string[] = [];
  for (const n of [1000, SESSIONS].filter((v, i, a) => a.indexOf(v) === i && v > 0)) {
    ids.push(...(await openSessions(t, n - ids.length)));
    const m = (await proxy.probe()).usage;
    out[n] = { heapPerSessionKB: round((m.heapUsed - before.heapUsed) / n / 1024), rssPerSessionKB: round((m.rss - before.rss) / n / 1024), heapMB: round(m.heapUsed / 2 ** 20), rssMB: round(m.rss / 2 ** 20) };
  }
  // Still held: the oldest and the newest session both answer.
  for (const id of [ids[0]!, ids[ids.length - 1]!]) {
    const res = await fetch(t.url, { method: 'POST', headers: { ...t.headers, 'mcp-session-id': id, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }) });
    await res.text();
    if (res.status !== 200) throw new Error(`${t.label}: session ${id} no longer answers (${res.status})`);
  }
  out.held = ids.length;
  return out;
}

/** The server's own cold start, measured from a small process (the bench driver is large; fork costs grow with it). */
async function directColdStart(): Promise<number> {
  const child = spawn(node, [join(here, 'servers/cold-start.mjs'), echoStdio, '7'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return round(JSON.parse(out).medianMs);
}

async function proxyColdStart(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const [id] = await openSessions({ label: 'cold start', url, headers }, 1, 1);
  const ms = performance.now() - t0;
  await fetch(url, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': id! } }).then((r) => r.arrayBuffer());
  return ms;
}

async function median(n: number, f: () => Promise<number>): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < n; i++) v.push(await f());
  v.sort((a, b) => a - b);
  return round(v[Math.floor(n / 2)]!);
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '–');

function table(head: string[], body: Array<Array<string | number>>): string {
  const cells = [head, ...body.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

function printReport() {
  const t = results.throughput as Record<string, Throughput>;
  const rps = (k: string) => t[k]?.rps;
  const row = (k: string, vs: string[]) => [k, rps(k) ?? '–', t[k]?.p50 ?? '–', t[k]?.p99 ?? '–', ...vs.map((b) => ratio(rps(k), rps(b))), (t[k]?.non2xx ?? 0) + (t[k]?.errors ?? 0)];
  const httpRows = ['direct', 'nginx', 'fastify-http-proxy', 'proxy+jwt', 'proxy+cookie', 'proxy+apikey'].filter((k) => t[k]);
  const stdioRows = ['supergateway', 'mcp-proxy', 'proxy-stdio+jwt'].filter((k) => t[k]);
  const out: string[] = [];
  out.push(`\nHTTP backend, tools/call echo, ${CONNECTIONS} connections, ${SECONDS} s (latency in ms):\n`);
  out.push(table(['target', 'req/s', 'p50', 'p99', '× direct', '× nginx', '× fastify-http-proxy', 'errors'], httpRows.map((k) => row(k, ['direct', 'nginx', 'fastify-http-proxy']))));
  out.push(`\nstdio backend (raw line echo server), same load:\n`);
  out.push(table(['target', 'req/s', 'p50', 'p99', '× supergateway', '× mcp-proxy', 'errors'], stdioRows.map((k) => row(k, ['supergateway', 'mcp-proxy']))));
  const lat = (results.latency ?? {}) as Record<string, Latency>;
  if (lat.direct) out.push(`\nOne connection, sequential calls (µs):\n`, table(['target', 'p50', 'p99', 'p50 over direct'], Object.entries(lat).map(([k, v]) => [k, v.p50us, v.p99us, v.p50us - lat.direct!.p50us])));
  const sse = results.sseFirstEventUs as { direct: number; proxy: number } | undefined;
  const cold = results.coldStartMs as { server: number; proxy: number } | undefined;
  if (sse) out.push(`\nSSE first event (median µs): direct ${sse.direct}, proxy ${sse.proxy} (+${sse.proxy - sse.direct})`);
  if (cold) out.push(`stdio cold start (median ms, spawn → initialize answered): server alone ${cold.server}, through the proxy ${cold.proxy}`);
  const mem = (results.memory ?? {}) as Record<string, Record<string, { heapPerSessionKB: number; rssPerSessionKB: number; heapMB: number; rssMB: number }>>;
  if (Object.keys(mem).length) out.push(`\nIdle MCP sessions held by the proxy:\n`, table(['backend', 'sessions', 'heap/session KB', 'RSS/session KB', 'heap MB', 'RSS MB'], Object.entries(mem).flatMap(([b, v]) => Object.entries(v).filter(([n]) => n !== 'held').map(([n, m]) => [b, n, m.heapPerSessionKB, m.rssPerSessionKB, m.heapMB, m.rssMB]))));

  const goals: Array<[string, boolean | undefined, string]> = [];
  const best = ['proxy+jwt', 'proxy+cookie', 'proxy+apikey'].map((k) => rps(k) ?? 0);
  const worst = Math.min(...best.filter(Boolean));
  const g = (name: string, value: number | undefined, target: number, unit = '×', lower = false) => goals.push([name, value === undefined || Number.isNaN(value) ? undefined : lower ? value <= target : value >= target, value === undefined ? '–' : `${round(value, 2)}${unit} (goal ${lower ? '≤' : '≥'} ${target}${unit})`]);
  g('authenticated HTTP ≥ 0.7× nginx (slowest credential)', rps('nginx') ? worst / rps('nginx')! : undefined, 0.7);
  g('authenticated HTTP ≥ 1.5× @fastify/http-proxy (slowest credential)', rps('fastify-http-proxy') ? worst / rps('fastify-http-proxy')! : undefined, 1.5);
  g('stdio ≥ 3× supergateway', rps('supergateway') ? (rps('proxy-stdio+jwt') ?? 0) / rps('supergateway')! : undefined, 3);
  g('p50 overhead at 1 connection ≤ 0.3 ms (jwt)', lat['proxy+jwt'] && lat.direct ? (lat['proxy+jwt'].p50us - lat.direct.p50us) / 1000 : undefined, 0.3, ' ms', true);
  for (const b of Object.keys(mem)) g(`≤ 20 KB heap per idle session (${b}, ${SESSIONS})`, mem[b]![SESSIONS]?.heapPerSessionKB, 20, ' KB', true);
  out.push(`\nGoals (issue 7):\n`);
  out.push(table(['goal', 'holds', 'measured'], goals.map(([n, ok, v]) => [n, ok === undefined ? 'n/a' : ok ? 'yes' : 'NO', v])));
  results.goals = Object.fromEntries(goals.map(([n, ok, v]) => [n, { holds: ok, measured: v }]));
  process.stdout.write(`${out.join('\n')}\n`);
}

const t0 = Date.now();
try {
  await main();
  log(`done in ${Math.round((Date.now() - t0) / 1000)} s`);
  rmSync(dir, { recursive: true, force: true });
} catch (e) {
  log(`failed; the proxy's log and config are kept in ${dir}`);
  throw e;
} finally {
  await stopAll();
}
