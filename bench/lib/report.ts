/** The bench's tables and goals, printed as Markdown from one run's results. */
import type { Latency, Throughput } from './load.js';
import { HTTP_PEERS, SHAPE_TITLES, type Shape } from './peers.js';
import { round, type SessionMemory } from './phases.js';

export const CREDENTIALS = ['proxy+apikey', 'proxy+jwt', 'proxy+cookie'] as const;

export interface Results {
  startedAt: string;
  node: string;
  /** Load average (1, 5, 15 min) when the run started and when it ended. */
  load: { start: number[]; end?: number[] };
  connections: number;
  seconds: number;
  throughput: Partial<Record<Shape, Record<string, Throughput>>>;
  stdio: Record<string, Throughput>;
  latency: Partial<Record<Shape, Record<string, Latency>>>;
  sseFirstEventUs?: Record<string, number>;
  coldStartMs?: { server: number; proxy: number };
  memory: Record<string, Record<string, SessionMemory | number>>;
  goals?: Record<string, { holds?: boolean; measured: string }>;
}

const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '–');

export function table(head: string[], body: Array<Array<string | number>>): string {
  const cells = [head, ...body.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

function throughputTable(t: Record<string, Throughput>, vs: readonly string[]): string {
  const rows = Object.keys(t).map((k) => [
    k,
    t[k]!.rps,
    t[k]!.p50,
    t[k]!.p99,
    t[k]!.cpuUsPerReq ?? '–',
    ...vs.map((b) => ratio(t[k]!.rps, t[b]?.rps)),
    t[k]!.non2xx + t[k]!.errors,
  ]);
  return table(['target', 'req/s', 'p50', 'p99', 'CPU µs/req', ...vs.map((b) => `× ${b}`), 'errors'], rows);
}

/** The slowest credential's req/s (every credential must meet a goal). */
const slowest = (t: Record<string, Throughput> | undefined) => {
  const v = CREDENTIALS.map((c) => t?.[c]?.rps).filter((x): x is number => Boolean(x));
  return v.length ? Math.min(...v) : undefined;
};

function goals(r: Results): Array<[string, boolean | undefined, string]> {
  const out: Array<[string, boolean | undefined, string]> = [];
  const g = (name: string, value: number | undefined, target: number, unit = '×', lower = false) =>
    out.push([
      name,
      value === undefined || Number.isNaN(value) ? undefined : lower ? value <= target : value >= target,
      value === undefined ? '–' : `${round(value, 2)}${unit} (goal ${lower ? '≤' : '≥'} ${target}${unit})`,
    ]);
  for (const [shape, t] of Object.entries(r.throughput) as Array<[Shape, Record<string, Throughput>]>) {
    const worst = slowest(t);
    const vs = (peer: string) => (worst && t[peer] ? worst / t[peer]!.rps : undefined);
    g(`${shape}: authenticated ≥ 1.5× @fastify/http-proxy`, vs('fastify-http-proxy'), 1.5);
    g(`${shape}: authenticated ≥ 0.35× nginx`, vs('nginx'), 0.35);
    g(`${shape}: authenticated ≥ 0.6× minimal Node proxy`, vs('node-proxy'), 0.6);
  }
  for (const [shape, l] of Object.entries(r.latency) as Array<[Shape, Record<string, Latency>]>) {
    if (l.direct && l['proxy+jwt'])
      g(
        `${shape}: p50 added at 1 connection ≤ 0.3 ms (jwt)`,
        (l['proxy+jwt'].p50us - l.direct.p50us) / 1000,
        0.3,
        ' ms',
        true,
      );
  }
  const sse = r.sseFirstEventUs;
  if (sse?.direct && sse['proxy+jwt'])
    g('SSE first event ≤ +0.3 ms (jwt)', (sse['proxy+jwt'] - sse.direct) / 1000, 0.3, ' ms', true);
  const sg = r.stdio.supergateway?.rps;
  if (sg) g('stdio ≥ 3× supergateway', (r.stdio['proxy-stdio+jwt']?.rps ?? 0) / sg, 3);
  for (const [b, m] of Object.entries(r.memory)) {
    const last = Object.entries(m)
      .filter(([k]) => k !== 'held')
      .pop();
    if (last)
      g(
        `≤ 20 KB heap per idle session (${b}, ${last[0]})`,
        (last[1] as SessionMemory).heapPerSessionKB,
        20,
        ' KB',
        true,
      );
  }
  return out;
}

export function report(r: Results): string {
  const out: string[] = [];
  const peers = [...HTTP_PEERS];
  for (const [shape, t] of Object.entries(r.throughput) as Array<[Shape, Record<string, Throughput>]>) {
    out.push(
      `\nHTTP backend, ${SHAPE_TITLES[shape]}: tools/call echo, ${r.connections} connections, ${r.seconds} s ` +
        '(latency in ms)\n',
    );
    out.push(throughputTable(t, peers));
  }
  if (Object.keys(r.stdio).length) {
    out.push(`\nstdio backend (raw line echo server), same load:\n`);
    out.push(throughputTable(r.stdio, ['supergateway', 'mcp-proxy']));
  }
  const lat = Object.entries(r.latency) as Array<[Shape, Record<string, Latency>]>;
  if (lat.length) {
    const targets = [...new Set(lat.flatMap(([, l]) => Object.keys(l)))];
    out.push(`\nOne connection, sequential calls: p50 µs (added over direct)\n`);
    out.push(
      table(
        ['shape', ...targets],
        lat.map(([s, l]) => [
          s,
          ...targets.map((k) => (l[k] ? `${l[k]!.p50us} (+${l[k]!.p50us - (l.direct?.p50us ?? 0)})` : '–')),
        ]),
      ),
    );
  }
  const sse = r.sseFirstEventUs;
  if (sse)
    out.push(
      `\nSSE first event (median µs, progress event of tools/call stream): ${Object.entries(sse)
        .map(([k, v]) => `${k} ${v}${k === 'direct' ? '' : ` (+${v - sse.direct!})`}`)
        .join(', ')}`,
    );
  if (r.coldStartMs)
    out.push(
      `stdio cold start (median ms, spawn → initialize answered): server alone ${r.coldStartMs.server}, through ` +
        `the proxy ${r.coldStartMs.proxy}`,
    );
  const mem = Object.entries(r.memory);
  if (mem.length) {
    out.push(`\nIdle MCP sessions held by the proxy:\n`);
    out.push(
      table(
        ['backend', 'sessions', 'heap/session KB', 'RSS/session KB', 'heap MB', 'RSS MB'],
        mem.flatMap(([b, v]) =>
          Object.entries(v)
            .filter(([n]) => n !== 'held')
            .map(([n, m]) => [b, n, ...Object.values(m as SessionMemory)]),
        ),
      ),
    );
  }
  const gs = goals(r);
  r.goals = Object.fromEntries(gs.map(([n, ok, v]) => [n, { holds: ok, measured: v }]));
  out.push(`\nGoals (issue 15; authenticated = the slowest of API key, JWT, cookie):\n`);
  out.push(
    table(
      ['goal', 'holds', 'measured'],
      gs.map(([n, ok, v]) => [n, ok === undefined ? 'n/a' : ok ? 'yes' : 'NO', v]),
    ),
  );
  out.push(
    `\nLoad average (1/5/15 min): ${r.load.start.join(' ')} at the start, ${r.load.end?.join(' ') ?? '–'} at the ` +
      `end; node ${r.node}`,
  );
  return `${out.join('\n')}\n`;
}
