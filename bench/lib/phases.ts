/** The bench's slower phases: idle sessions held by the proxy, stdio cold start. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSessions, type Target } from './load.js';
import { echoStdio } from './peers.js';
import type { BenchProxy } from './proxy.js';

const here = dirname(fileURLToPath(import.meta.url));

/** `v` rounded to `d` decimals. */
export const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

export interface SessionMemory {
  heapPerSessionKB: number;
  rssPerSessionKB: number;
  heapMB: number;
  rssMB: number;
}

/** Proxy heap and RSS per idle session, at 1,000 and at `sessions`; the oldest and newest must still answer. */
export async function idleSessions(
  proxy: BenchProxy,
  t: Target,
  sessions: number,
): Promise<Record<string, SessionMemory | number>> {
  const before = (await proxy.probe()).usage;
  const out: Record<string, SessionMemory | number> = {};
  const ids: string[] = [];
  for (const n of [1000, sessions].filter((v, i, a) => a.indexOf(v) === i && v > 0)) {
    ids.push(...(await openSessions(t, n - ids.length)));
    const m = (await proxy.probe()).usage;
    out[n] = {
      heapPerSessionKB: round((m.heapUsed - before.heapUsed) / n / 1024),
      rssPerSessionKB: round((m.rss - before.rss) / n / 1024),
      heapMB: round(m.heapUsed / 2 ** 20),
      rssMB: round(m.rss / 2 ** 20),
    };
  }
  for (const id of [ids[0]!, ids[ids.length - 1]!]) {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: {
        ...t.headers,
        'mcp-session-id': id,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }),
    });
    await res.text();
    if (res.status !== 200) throw new Error(`${t.label}: session ${id} no longer answers (${res.status})`);
  }
  out.held = ids.length;
  return out;
}

/** The server's own cold start, measured from a small process (the bench driver is large; fork costs grow with it). */
export async function directColdStart(): Promise<number> {
  const child = spawn(process.execPath, [join(here, '../servers/cold-start.mjs'), echoStdio, '7'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return round(JSON.parse(out).medianMs);
}

/** spawn → initialize answered through the proxy (isolation: session), median of 7. */
export async function proxyColdStart(url: string, headers: Record<string, string>): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const [id] = await openSessions({ label: 'cold start', url, headers }, 1, 1);
    const ms = performance.now() - t0;
    await fetch(url, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': id! } }).then((r) => r.arrayBuffer());
    return ms;
  };
  const v: number[] = [];
  for (let i = 0; i < 7; i++) v.push(await once());
  v.sort((a, b) => a - b);
  return round(v[3]!);
}
