/**
 * `npm run bench:tracing`: what tracing costs, in one run. The same proxy build twice, on
 * loopback, in front of one HTTP echo backend (API key, the bench's policy rule, audit on):
 * tracing off (no `telemetry`) and on (`telemetry.otlp` to a local OTLP/HTTP receiver that
 * counts what it gets). MCP POST tools/call throughput (autocannon, 10 connections) and
 * sequential latency, rows interleaved off/on, each row's median kept; prints on/off ratios and
 * writes bench/results/tracing.json.
 *
 *   BENCH_SECONDS=5   seconds per throughput row
 *   BENCH_ROUNDS=3    off/on pairs (medians reported)
 *   BENCH_PROFILE=1   the proxies run with --cpu-prof (bench/profiles/tracing-<mode>/)
 *   BENCH_BEFORE=<dir> also a build without tracing code (e.g. an earlier commit's dist/): the cost of "off"
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';
import { sequentialLatency, throughput, type Target, type Throughput } from './lib/load.js';
import { proxyConfig } from './lib/peers.js';
import { start, stopAll } from './lib/procs.js';
import { startBenchProxy } from './lib/proxy.js';
import { round } from './lib/phases.js';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BEFORE = process.env.BENCH_BEFORE;
const PROFILE = process.env.BENCH_PROFILE === '1';
type Mode = 'before' | 'off' | 'on';
const MODES: Mode[] = BEFORE ? ['before', 'off', 'on'] : ['off', 'on'];
const CONNECTIONS = 10;
const LATENCY_CALLS = 2000;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A local OTLP/HTTP receiver: answers every export, counts requests, bytes and spans. */
async function otlpReceiver() {
  const seen = { requests: 0, bytes: 0, spans: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.requests++;
      seen.bytes += body.length;
      seen.spans += (body.toString().match(/"spanId"/g) ?? []).length;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
}

const dir = mkdtempSync(join(tmpdir(), 'mcp-proxy-bench-tracing-'));
try {
  const echo = await start(process.execPath, [join(here, 'servers/echo-http.mjs'), '--sdk'], {
    label: 'echo-http',
    waitListening: true,
  });
  const receiver = await otlpReceiver();
  const apiKey = randomBytes(24).toString('base64url');
  const base = proxyConfig(
    echo.port!,
    randomBytes(32).toString('base64'),
    createHash('sha256').update(apiKey).digest('hex'),
  );
  const configs = {
    before: base,
    off: base,
    on: { ...base, telemetry: { otlp: { endpoint: receiver.url }, serviceName: 'mcp-oidc-proxy-bench' } },
  };
  const targets = {} as Record<Mode, Target>;
  for (const mode of MODES) {
    const d = join(dir, mode);
    mkdirSync(d);
    const proxy = await startBenchProxy(d, await freePort(), configs[mode], {
      dist: mode === 'before' ? BEFORE : undefined,
      profileDir: PROFILE ? join(here, 'profiles', `tracing-${mode}`) : undefined,
    });
    targets[mode] = {
      label: `proxy ${mode === 'before' ? 'build without tracing' : `tracing ${mode}`}`,
      url: `${proxy.url}/mcp/echo`,
      headers: { 'x-api-key': apiKey },
      pid: proxy.started.proc.pid,
    };
  }
  const rows: Record<Mode, Throughput[]> = { before: [], off: [], on: [] };
  const lat: Record<Mode, { p50us: number; p99us: number }[]> = { before: [], off: [], on: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 ? [...MODES].reverse() : MODES) {
      log(`round ${r + 1}/${ROUNDS}: throughput, tracing ${mode}`);
      rows[mode].push(await throughput(targets[mode], CONNECTIONS, SECONDS));
      log(`round ${r + 1}/${ROUNDS}: sequential latency, tracing ${mode}`);
      lat[mode].push(await sequentialLatency(targets[mode], LATENCY_CALLS));
    }
  }
  const summary = (mode: Mode) => ({
    rps: median(rows[mode].map((x) => x.rps)),
    p50ms: median(rows[mode].map((x) => x.p50)),
    p99ms: median(rows[mode].map((x) => x.p99)),
    cpuUsPerReq: median(rows[mode].map((x) => x.cpuUsPerReq ?? 0)),
    seqP50us: median(lat[mode].map((x) => x.p50us)),
    seqP99us: median(lat[mode].map((x) => x.p99us)),
    errors: rows[mode].reduce((n, x) => n + x.errors + x.non2xx, 0),
  });
  const off = summary('off');
  const on = summary('on');
  const before = BEFORE ? summary('before') : undefined;
  const ratio = (k: keyof typeof off, a = off, b = on) => (a[k] ? round(b[k] / a[k], 3) : undefined);
  const result = {
    startedAt: new Date().toISOString(),
    node: process.version,
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    before,
    off,
    on,
    ratioOffToBefore: before && {
      rps: ratio('rps', before, off),
      cpuUsPerReq: ratio('cpuUsPerReq', before, off),
      seqP50us: ratio('seqP50us', before, off),
    },
    ratioOnToOff: {
      rps: ratio('rps'),
      p50ms: ratio('p50ms'),
      p99ms: ratio('p99ms'),
      cpuUsPerReq: ratio('cpuUsPerReq'),
      seqP50us: ratio('seqP50us'),
      seqP99us: ratio('seqP99us'),
    },
    exported: receiver.seen,
  };
  const line = (k: string, a: number, b: number, unit: string) =>
    `${k.padEnd(26)} ${`${a} ${unit}`.padStart(14)} ${`${b} ${unit}`.padStart(14)} ` +
    String(round(b / a, 3)).padStart(8);
  process.stdout.write(
    [
      `MCP POST tools/call through the proxy (API key, policy, audit), tracing off vs on (OTLP/HTTP to loopback)`,
      `${''.padEnd(26)} ${'off'.padStart(14)} ${'on'.padStart(14)} ${'on/off'.padStart(8)}`,
      line(`throughput (${CONNECTIONS} conns)`, off.rps, on.rps, 'req/s'),
      line('latency p50 under load', off.p50ms, on.p50ms, 'ms'),
      line('latency p99 under load', off.p99ms, on.p99ms, 'ms'),
      line('CPU per request', off.cpuUsPerReq, on.cpuUsPerReq, 'µs'),
      line('sequential p50', off.seqP50us, on.seqP50us, 'µs'),
      line('sequential p99', off.seqP99us, on.seqP99us, 'µs'),
      `errors: off ${off.errors}, on ${on.errors}; exported: ${receiver.seen.spans} spans ` +
        `in ${receiver.seen.requests} requests (${receiver.seen.bytes} bytes)`,
      ...(before
        ? [
            `without tracing code (${BEFORE}): ${before.rps} req/s, ${before.cpuUsPerReq} µs CPU/req, ` +
              `sequential p50 ${before.seqP50us} µs; off/before: throughput ${ratio('rps', before, off)}, ` +
              `CPU ${ratio('cpuUsPerReq', before, off)}, sequential p50 ${ratio('seqP50us', before, off)}`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results/tracing.json'), `${JSON.stringify(result, null, 2)}\n`);
  await stopAll(); // the proxies flush their spans as they stop
  receiver.close();
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
