/** Load and latency measurements: autocannon for throughput, a timed sequential loop for latency. */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { Client, Pool } from 'undici';

export interface Target {
  label: string;
  url: string;
  headers: Record<string, string>;
  /** The process in front of the backend (or the backend itself, for direct): its CPU time is measured. */
  pid?: number;
}

export interface Throughput {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /**
   * CPU time (user + system) the target's process spent per
   * request: load on the machine changes it far less than req/s.
   */
  cpuUsPerReq?: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** utime + stime of a process, in clock ticks; undefined off Linux. */
function cpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

export const callBody = (name = 'echo') =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: { text: 'hello' } } });

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-06-18',
};

/** One correct answer first (an echo of the arguments), so a fast row of errors cannot pass for a result. */
export async function checkEcho(t: Target): Promise<void> {
  const res = await fetch(t.url, { method: 'POST', headers: { ...MCP_HEADERS, ...t.headers }, body: callBody() });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('\\"text\\":\\"hello\\"'))
    throw new Error(`${t.label}: tools/call echo answered ${res.status} ${text.slice(0, 300)}`);
}

export async function throughput(t: Target, connections: number, seconds: number): Promise<Throughput> {
  await checkEcho(t);
  const opts = { url: t.url, method: 'POST', headers: { ...MCP_HEADERS, ...t.headers }, body: callBody(), connections };
  await autocannon({ ...opts, duration: 1 }); // warm-up (JIT, pools)
  const before = cpuTicks(t.pid);
  const r = await autocannon({ ...opts, duration: seconds });
  const after = cpuTicks(t.pid);
  const cpuUsPerReq =
    before !== undefined && after !== undefined && r.requests.total
      ? Math.round(((after - before) * 1e6) / USER_HZ / r.requests.total)
      : undefined;
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuUsPerReq,
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export interface Latency {
  p50us: number;
  p99us: number;
}

/** `n` sequential calls on one keep-alive connection, each timed in µs. */
export async function sequentialLatency(t: Target, n: number): Promise<Latency> {
  await checkEcho(t);
  const u = new URL(t.url);
  const client = new Client(u.origin, { keepAliveTimeout: 60_000 });
  const body = callBody();
  const headers = { ...MCP_HEADERS, ...t.headers };
  const times: number[] = [];
  try {
    for (let i = 0; i < n + 200; i++) {
      const t0 = process.hrtime.bigint();
      const res = await client.request({ method: 'POST', path: u.pathname, headers, body });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${t.label}: HTTP ${res.statusCode}`);
      if (i >= 200) times.push(Number(process.hrtime.bigint() - t0) / 1000); // first 200 warm up
    }
  } finally {
    await client.close();
  }
  times.sort((a, b) => a - b);
  return { p50us: Math.round(quantile(times, 0.5)), p99us: Math.round(quantile(times, 0.99)) };
}

/** Time from sending a request to the first body chunk of its SSE answer (median of `n`, µs). */
export async function firstEventDelay(t: Target, n: number): Promise<number> {
  const u = new URL(t.url);
  const client = new Client(u.origin);
  const headers = { ...MCP_HEADERS, ...t.headers };
  const times: number[] = [];
  try {
    for (let i = 0; i < n + 20; i++) {
      const t0 = process.hrtime.bigint();
      const res = await client.request({ method: 'POST', path: u.pathname, headers, body: callBody('stream') });
      if (!String(res.headers['content-type']).startsWith('text/event-stream'))
        throw new Error(`${t.label}: not an SSE answer (${res.statusCode} ${res.headers['content-type']})`);
      let first = 0n;
      for await (const chunk of res.body) {
        if (!first && chunk.toString().includes('data:')) first = process.hrtime.bigint();
      }
      if (i >= 20) times.push(Number(first - t0) / 1000);
    }
  } finally {
    await client.close();
  }
  times.sort((a, b) => a - b);
  return Math.round(quantile(times, 0.5));
}

/** Open `n` MCP sessions (initialize), `parallel` at a time; returns their ids. */
export async function openSessions(t: Target, n: number, parallel = 32): Promise<string[]> {
  const u = new URL(t.url);
  const client = new Pool(u.origin, { connections: parallel });
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  });
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const res = await client.request({
        method: 'POST',
        path: u.pathname,
        headers: { ...MCP_HEADERS, ...t.headers },
        body,
      });
      await res.body.text();
      const id = res.headers['mcp-session-id'];
      if (res.statusCode !== 200 || typeof id !== 'string')
        throw new Error(`${t.label}: initialize answered ${res.statusCode} without a session id`);
      ids.push(id);
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    await client.close();
  }
  return ids;
}
