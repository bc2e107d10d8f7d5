/**
 * `npm run bench`: the proxy against its peers, in one run, on loopback.
 *
 * One HTTP echo backend answers in four shapes (JSON with Content-Length, JSON chunked, SSE,
 * and an MCP SDK server), and a raw stdio echo server (bench/servers/). In front of them: this
 * proxy (auth on: API key, proxy-issued JWT, session cookie; policy on: one tool rule; audit
 * on, to stdout as by default; the proxy's stdout goes to a file) and the baselines (bench/lib/peers.ts):
 * direct, nginx (1 worker), bare @fastify/http-proxy, a minimal Node proxy, supergateway and
 * mcp-proxy. Prints the tables and the goals, writes bench/results/latest.json.
 *
 *   BENCH_SECONDS=5      seconds per throughput row (default 5)
 *   BENCH_ROUNDS=1       run every throughput row this many times in turn, keep each row's median
 *   BENCH_SESSIONS=10000 idle sessions for the memory rows (default 10000; 1,000 is also reported)
 *   BENCH_PROFILE=1      the proxy runs with --cpu-prof (profiles in bench/profiles/)
 *   BENCH_BEFORE=[name=]<dir>,…  also run the builds in these dirs (e.g. an earlier commit's dist/),
 *                        rows <name>+apikey, … (name defaults to before), beside this build's
 *   BENCH_ONLY=a,b       only these rows and phases: a shape (length, chunked, sse, sdk), a target
 *                        (direct, nginx, fastify-http-proxy, node-proxy, proxy+apikey, proxy+jwt,
 *                        proxy+cookie; stdio: supergateway, mcp-proxy, proxy-stdio+jwt), both
 *                        (sse/proxy+jwt), or a phase (latency, first-event, cold, memory)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';
import { bearerToken, sessionCookie } from './lib/credentials.js';
import {
  firstEventDelay,
  openSessions,
  sequentialLatency,
  throughput,
  type Target,
  type Throughput,
} from './lib/load.js';
import { backendName, HTTP_PEERS, proxyConfig, SHAPES, startPeers, type Shape } from './lib/peers.js';
import { directColdStart, idleSessions, proxyColdStart, round } from './lib/phases.js';
import { stopAll, stopProc } from './lib/procs.js';
import { startBenchProxy } from './lib/proxy.js';
import { CREDENTIALS, report, type Results } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const ONLY = process.env.BENCH_ONLY?.split(',');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const CONNECTIONS = 10;
const LATENCY_CALLS = 2000;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const load = () => loadavg().map((v) => round(v, 2));
/** A row runs when BENCH_ONLY is unset or names its shape, its target, or both. */
const wanted = (group: string, label: string) => {
  const as = label.replace(/^[^+]+\+/, 'proxy+'); // another build's row is chosen as this build's
  return !ONLY || ONLY.some((o) => [group, label, as, `${group}/${label}`, `${group}/${as}`].includes(o));
};
const want = (phase: string) => !ONLY || ONLY.includes(phase);

const dir = mkdtempSync(join(tmpdir(), 'mcp-proxy-bench-'));
const results: Results = {
  startedAt: new Date().toISOString(),
  node: process.version,
  load: { start: load() },
  connections: CONNECTIONS,
  seconds: SECONDS,
  throughput: {},
  stdio: {},
  latency: {},
  memory: {},
};

/** A running proxy's credentials: API key, one JWT per backend (its audience), a session cookie. */
async function credentialsFor(P: string, apiKey: string, pid?: number) {
  const cookie = await sessionCookie(P);
  const tokens = new Map<string, string>();
  const bearer = async (backend: string) => {
    if (!tokens.has(backend)) tokens.set(backend, await bearerToken(P, `${P}/mcp/${backend}`));
    return { authorization: `Bearer ${tokens.get(backend)}` };
  };
  /** The proxy's three rows for a backend, labelled `<name>+apikey`, `+jwt`, `+cookie`. */
  const rows = async (name: string, backend: string): Promise<Target[]> => {
    const creds = { apikey: { 'x-api-key': apiKey }, jwt: await bearer(backend), cookie: { cookie } };
    return CREDENTIALS.map((c) => ({
      label: `${name}+${c.slice('proxy+'.length)}`,
      url: `${P}/mcp/${backend}`,
      pid,
      headers: creds[c.slice('proxy+'.length) as keyof typeof creds],
    }));
  };
  return { bearer, rows };
}

async function main() {
  const peers = await startPeers(dir);
  const apiKey = randomBytes(24).toString('base64url');
  const config = proxyConfig(
    peers.backendPort,
    randomBytes(32).toString('base64'),
    createHash('sha256').update(apiKey).digest('hex'),
  );
  const proxy = await startBenchProxy(dir, await freePort(), config, {
    profileDir: process.env.BENCH_PROFILE === '1' ? join(here, 'profiles') : undefined,
  });
  const P = proxy.url;
  log('getting credentials (login, OAuth flow)');
  const { bearer, rows } = await credentialsFor(P, apiKey, proxy.started.proc.pid);
  // BENCH_BEFORE=[name=]<dist dir>,…: other builds beside this one, their rows (`<name>+…`, default
  // `before`) interleaved with these.
  const others: Array<{ name: string; creds: Awaited<ReturnType<typeof credentialsFor>> }> = [];
  for (const spec of process.env.BENCH_BEFORE?.split(',') ?? []) {
    const [name, dist] = spec.includes('=') ? (spec.split('=') as [string, string]) : ['before', spec];
    mkdirSync(join(dir, name));
    const other = await startBenchProxy(join(dir, name), await freePort(), config, { dist });
    others.push({ name, creds: await credentialsFor(other.url, apiKey, other.started.proc.pid) });
  }
  /** Every target holds an MCP session (the SDK backend is stateful; the others ignore it). */
  const withSession = async (t: Target): Promise<Target> => ({
    ...t,
    headers: { ...t.headers, 'mcp-session-id': (await openSessions(t, 1, 1))[0]! },
  });

  const targets = {} as Record<Shape, Target[]>;
  for (const shape of Object.keys(SHAPES) as Shape[]) {
    const all = [
      await rows('proxy', backendName(shape)),
      ...(await Promise.all(others.map((o) => o.creds.rows(o.name, backendName(shape))))),
    ];
    targets[shape] = [
      ...HTTP_PEERS.map((p) => ({
        label: p,
        url: `${peers.http[p]}${SHAPES[shape]}`,
        headers: {},
        pid: peers.pids[p],
      })),
      ...all[0]!.flatMap((_, i) => all.map((r) => r[i]!)),
    ];
  }
  const stdio: Target[] = [
    { label: 'supergateway', url: peers.stdio.supergateway, headers: {}, pid: peers.stdioPids.supergateway },
    { label: 'mcp-proxy', url: peers.stdio['mcp-proxy'], headers: {}, pid: peers.stdioPids['mcp-proxy'] },
    { label: 'proxy-stdio+jwt', url: `${P}/mcp/stdio`, headers: await bearer('stdio'), pid: proxy.started.proc.pid },
  ];

  // Throughput (10 connections, tools/call echo); with BENCH_ROUNDS, every row that many times
  // in turn, and its median kept (drift and neighbours' load spread over all rows alike).
  const samples = new Map<string, Throughput[]>();
  const run = async (group: string, t: Target) => {
    log(`throughput: ${group}/${t.label}`);
    const key = `${group}/${t.label}`;
    samples.set(key, [...(samples.get(key) ?? []), await throughput(await withSession(t), CONNECTIONS, SECONDS)]);
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const shape of Object.keys(targets) as Shape[])
      for (const t of targets[shape].filter((x) => wanted(shape, x.label))) await run(shape, t);
    for (const t of stdio.filter((x) => wanted('stdio', x.label))) await run('stdio', t);
  }
  for (const [key, v] of samples) {
    const [group, label] = key.split('/') as [string, string];
    const mid = <T>(xs: T[], by: (x: T) => number) => [...xs].sort((a, b) => by(a) - by(b))[Math.floor(xs.length / 2)]!;
    const median = { ...mid(v, (x) => x.rps), cpuUsPerReq: mid(v, (x) => x.cpuUsPerReq ?? 0).cpuUsPerReq };
    if (group === 'stdio') results.stdio[label] = median;
    else (results.throughput[group as Shape] ??= {})[label] = median;
  }

  if (want('latency')) {
    for (const shape of Object.keys(targets) as Shape[]) {
      log(`latency at 1 connection: ${shape}`);
      const l = (results.latency[shape] = {} as Record<string, Awaited<ReturnType<typeof sequentialLatency>>>);
      for (const t of targets[shape].filter((x) => x.label !== 'fastify-http-proxy'))
        l[t.label] = await sequentialLatency(await withSession(t), LATENCY_CALLS);
    }
  }
  if (want('first-event')) {
    log('SSE first-event delay');
    const sse: Record<string, number> = (results.sseFirstEventUs = {});
    for (const t of targets.length.filter(
      (x) => ['direct', 'nginx', 'node-proxy', 'proxy+apikey'].includes(x.label) || x.label.endsWith('+jwt'),
    ))
      sse[t.label] = await firstEventDelay(t, 300);
  }
  if (want('cold')) {
    log('stdio cold start');
    results.coldStartMs = {
      server: await directColdStart(),
      proxy: await proxyColdStart(`${P}/mcp/stdio-cold`, await bearer('stdio-cold')),
    };
  }
  if (want('memory')) {
    for (const [label, backend] of [
      ['http', 'echo'],
      ['stdio-shared', 'stdio'],
    ] as const) {
      log(`idle sessions: ${label}`);
      results.memory[label] = await idleSessions(
        proxy,
        { label: `sessions-${label}`, url: `${P}/mcp/${backend}`, headers: await bearer(backend) },
        SESSIONS,
      );
    }
  }
  await stopProc(proxy.started.proc);
  results.load.end = load();
  process.stdout.write(report(results));
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('results written to bench/results/latest.json');
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
