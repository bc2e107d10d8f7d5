/**
 * `npm run soak`: mixed traffic against one proxy for SOAK_MINUTES (default 10), printing the
 * proxy's heap, RSS, active resources and stdio processes every 30 s (after a full GC), then a
 * verdict: memory and handles flat (last sample within 15% / +20 of the one after warm-up).
 *
 * Traffic, all at once: browser logins (dev IdP) with a status check and a logout; tool calls
 * with an API key (~100/s) on an HTTP backend; GET SSE streams on a shared stdio backend opened
 * and dropped; stdio sessions with a process each (initialize, call, DELETE). Writes
 * bench/results/soak.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { freePort } from '../test/helpers/ports.js';
import { loginThroughProxy } from '../test/helpers/session-client.js';
import { openSessions } from './lib/load.js';
import { start, stopAll } from './lib/procs.js';
import { startBenchProxy } from './lib/proxy.js';

const here = dirname(fileURLToPath(import.meta.url));
const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const EVERY_MS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30) * 1000;
const echoStdio = join(here, 'servers/echo-stdio.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mcp-proxy-soak-'));
const KEY = randomBytes(16).toString('hex');
const counts = { logins: 0, calls: 0, streams: 0, stdioSessions: 0, errors: 0 };
const log = (s: string) => process.stdout.write(`${s}\n`);

function childProcesses(ppid: number): number {
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) === ppid && state !== 'Z') n++;
    } catch {
      /* gone */
    }
  }
  return n;
}

const echo = await start(process.execPath, [join(here, 'servers/echo-http.mjs')], {
  label: 'echo',
  waitListening: true,
});
const proxy = await startBenchProxy(dir, await freePort(), {
  session: { keys: [randomBytes(32).toString('base64')] },
  devIdp: {
    enabled: true,
    users: [
      { username: 'alice', password: 'alice', groups: ['admin'] },
      { username: 'bob', password: 'bob', groups: [] },
    ],
  },
  apiKeys: [
    { name: 'soak', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'soak-bot', groups: ['admin'] },
  ],
  audit: { file: join(dir, 'audit.log') },
  backends: [
    { name: 'echo', default: true, http: { url: `http://127.0.0.1:${echo.port}/mcp` } },
    { name: 'shared', stdio: { command: process.execPath, args: [echoStdio], isolation: 'shared' } },
    { name: 'each', stdio: { command: process.execPath, args: [echoStdio], isolation: 'session', maxProcesses: 8 } },
  ],
});
const P = proxy.url;
const pool = new Pool(P, { connections: 16 });
const H = { 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const body = (method: string, params: unknown = {}, id = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const until = Date.now() + MINUTES * 60_000;
const running = () => Date.now() < until;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const guard = (f: () => Promise<void>) => async () => {
  while (running()) {
    try {
      await f();
    } catch {
      counts.errors++;
      await sleep(200);
    }
  }
};

const [echoSession] = await openSessions({ label: 'echo', url: `${P}/mcp/echo`, headers: { 'x-api-key': KEY } }, 1, 1);
const workers = [
  // Tool calls, ~100/s over 4 loops.
  ...Array.from({ length: 4 }, () =>
    guard(async () => {
      const res = await pool.request({
        method: 'POST',
        path: '/mcp/echo',
        headers: { ...H, 'mcp-session-id': echoSession! },
        body: body('tools/call', { name: 'echo', arguments: { t: Date.now() } }),
      });
      await res.body.dump();
      counts.calls++;
      await sleep(40);
    }),
  ),
  // Browser logins and logouts.
  guard(async () => {
    const { cookie } = await loginThroughProxy(P, counts.logins % 2 ? 'alice' : 'bob');
    const status = (await (await fetch(`${P}/oauth/status`, { headers: { cookie } })).json()) as { csrfToken: string };
    await fetch(`${P}/oauth/logout`, {
      method: 'POST',
      headers: { cookie, origin: P, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ csrf: status.csrfToken }),
    }).then((r) => r.arrayBuffer());
    counts.logins++;
    await sleep(1000);
  }),
  // SSE GET streams on the shared stdio backend, held 2 s then dropped.
  guard(async () => {
    const [sid] = await openSessions({ label: 'shared', url: `${P}/mcp/shared`, headers: { 'x-api-key': KEY } }, 1, 1);
    const res = await pool.request({
      method: 'GET',
      path: '/mcp/shared',
      headers: { ...H, 'mcp-session-id': sid!, accept: 'text/event-stream' },
    });
    await sleep(2000);
    res.body.destroy();
    await pool
      .request({ method: 'DELETE', path: '/mcp/shared', headers: { ...H, 'mcp-session-id': sid! } })
      .then((r) => r.body.dump());
    counts.streams++;
  }),
  // stdio sessions with a process each: open, call, close.
  guard(async () => {
    const [sid] = await openSessions({ label: 'each', url: `${P}/mcp/each`, headers: { 'x-api-key': KEY } }, 1, 1);
    const res = await pool.request({
      method: 'POST',
      path: '/mcp/each',
      headers: { ...H, 'mcp-session-id': sid! },
      body: body('tools/call', { name: 'echo', arguments: {} }),
    });
    await res.body.dump();
    await pool
      .request({ method: 'DELETE', path: '/mcp/each', headers: { ...H, 'mcp-session-id': sid! } })
      .then((r) => r.body.dump());
    counts.stdioSessions++;
    await sleep(500);
  }),
];

const samples: Array<Record<string, number>> = [];
const sampler = (async () => {
  const t0 = Date.now();
  while (running()) {
    await sleep(Math.min(EVERY_MS, Math.max(0, until - Date.now())));
    const p = await proxy.probe();
    const s = {
      t: Math.round((Date.now() - t0) / 1000),
      heapMB: +(p.usage.heapUsed / 2 ** 20).toFixed(1),
      rssMB: +(p.usage.rss / 2 ** 20).toFixed(1),
      resources: p.resources,
      processes: childProcesses(proxy.started.proc.pid!),
      ...counts,
    };
    samples.push(s);
    log(`soak: ${JSON.stringify(s)}`);
  }
})();
log(`soak: ${MINUTES} min of mixed traffic against ${P}`);
await Promise.all([...workers.map((w) => w()), sampler]);
await sleep(3000);
const settled = await proxy.probe();
await pool.close();
await stopAll();

const base = samples[Math.min(1, samples.length - 1)]!;
const last: Record<string, number> = {
  ...samples.at(-1)!,
  heapMB: +(settled.usage.heapUsed / 2 ** 20).toFixed(1),
  resources: settled.resources,
};
const flat = last.heapMB <= base.heapMB * 1.15 && last.resources <= base.resources + 20;
log(
  `soak: after warm-up heap ${base.heapMB} MB, ${base.resources} resources; at the end (settled) heap ` +
    `${last.heapMB} MB, ${last.resources} resources, RSS ${last.rssMB} MB → ${flat ? 'flat' : 'GROWING'}`,
);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results/soak.json'),
  `${JSON.stringify({ minutes: MINUTES, samples, settled: last, flat }, null, 2)}\n`,
);
rmSync(dir, { recursive: true, force: true });
process.exit(flat ? 0 : 1);
