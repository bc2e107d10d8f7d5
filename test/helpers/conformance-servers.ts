/**
 * The MCP conformance suite's server mode (`conformance server --requirements <revision>`) run asynchronously
 * against a URL, with per-scenario results; the suite's reference server (test/conformance/reference-server/,
 * over HTTP or as a stdio command) and a loopback front that adds the proxy's API key to every request.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type ConformanceCheck, conformanceEnv as findEnv } from './conformance.js';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { freePort } from './ports.js';
import { startProxy } from './proxy.js';
import { ROOT } from './spawn.js';

/** The requirement sets the suite freezes per spec revision (`conformance list` names them). */
export const REQUIREMENT_SETS = ['2025-11-25', '2026-07-28'] as const;
export type RequirementSet = (typeof REQUIREMENT_SETS)[number];

let cachedEnv: { node: string; cli: string } | undefined;
/** Node 22 and the suite's CLI, looked up once (test.sh installs them before tap). */
export function conformanceEnv(): { node: string; cli: string } {
  cachedEnv ??= findEnv();
  return cachedEnv;
}

export const REFERENCE_SERVER = join(ROOT, 'test/conformance/reference-server/everything-server.ts');

export interface ScenarioResult {
  passed: number;
  failed: number;
  /** The scenario's verdict: no check failed. */
  ok: boolean;
  /** `<check id>: <message>` of each failed check (from checks.json). */
  failures: string[];
  /** Failed only by the suite's own request timeout the first time, and was run once more alone. */
  retried?: boolean;
}

export interface ServerSuiteRun {
  url: string;
  requirements: RequirementSet;
  exitCode: number | null;
  /** Wall time of the run. */
  ms: number;
  scenarios: Map<string, ScenarioResult>;
  stdout: string;
}

/** `conformance server --url <url> --requirements <set>` in a child process (never a synchronous spawn). */
export async function runServerSuite(
  url: string,
  requirements: RequirementSet,
  o: { timeoutMs?: number; scenario?: string } = {},
): Promise<ServerSuiteRun> {
  const started = Date.now();
  const env = conformanceEnv();
  const outDir = mkdtempSync(join(tmpdir(), 'conformance-server-'));
  // One scenario: `--requirements` fixes the scenarios, so name the revision with --spec-version instead.
  const which = o.scenario
    ? ['--scenario', o.scenario, '--spec-version', requirements]
    : ['--requirements', requirements];
  const args = [env.cli, 'server', '--url', url, ...which, '--output-dir', outDir];
  if (o.timeoutMs) args.push('--timeout', String(o.timeoutMs));
  const child = spawn(env.node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr.resume();
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) lines.push(line);
  const exitCode = await exited;
  const scenarios = new Map<string, ScenarioResult>();
  for (const line of lines) {
    const m = /^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/.exec(line);
    if (m) scenarios.set(m[2]!, { passed: Number(m[3]), failed: Number(m[4]), ok: m[1] === '✓', failures: [] });
  }
  for (const [scenario, checks] of readServerChecks(outDir)) {
    const failures = checks.filter((c) => c.status === 'FAILURE').map((c) => `${c.id}: ${c.errorMessage ?? ''}`);
    const r = scenarios.get(scenario);
    if (r) r.failures = failures;
    // a single scenario prints no per-scenario summary line: its checks are the result
    else if (o.scenario === scenario) {
      const passed = checks.filter((c) => c.status === 'SUCCESS').length;
      scenarios.set(scenario, { passed, failed: failures.length, ok: failures.length === 0, failures });
    }
  }
  rmSync(outDir, { recursive: true, force: true });
  return { url, requirements, exitCode, ms: Date.now() - started, scenarios, stdout: lines.join('\n') };
}

/** `<outDir>/server-<scenario>-<timestamp>/checks.json`, by scenario. */
function readServerChecks(outDir: string): Map<string, ConformanceCheck[]> {
  const out = new Map<string, ConformanceCheck[]>();
  for (const dir of readdirSync(outDir)) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(dir);
    const file = join(outDir, dir, 'checks.json');
    try {
      if (m) out.set(m[1]!, JSON.parse(readFileSync(file, 'utf8')) as ConformanceCheck[]);
    } catch {
      // a scenario that crashed may leave no checks.json: its summary line still counts
    }
  }
  return out;
}

export interface Running {
  url: string;
  close(): Promise<void>;
}

/** The reference server over streamable HTTP on a free loopback port (Node 22 strips its types). */
export async function startReferenceServer(): Promise<Running> {
  const { node } = conformanceEnv();
  const child = spawn(node, [REFERENCE_SERVER], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  let port: string | undefined;
  for await (const line of lines) {
    port = /running on http:\/\/localhost:(\d+)/.exec(line)?.[1];
    if (port) break;
  }
  if (!port) throw new Error('the conformance reference server did not start');
  child.stdout.resume();
  return {
    url: `http://localhost:${port}/mcp`,
    close: async () => {
      child.kill();
      await exited;
    },
  };
}

/** A stdio backend (proxy config) running the reference server over stdio. */
export function referenceStdioBackend(name: string, isolation: 'session' | 'user' | 'shared') {
  return {
    name,
    stdio: { command: conformanceEnv().node, args: [REFERENCE_SERVER], env: { MCP_TRANSPORT: 'stdio' }, isolation },
  };
}

/**
 * A loopback front that forwards every request to `target` (same path, method, headers and Host) with
 * `Authorization` added, streaming both ways: the suite cannot send a credential itself.
 */
export async function startAuthFront(target: string, authorization: string): Promise<Running> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const headers: IncomingHttpHeaders = { ...req.headers, authorization };
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      answer.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Markdown: one line per column, scenarios passed / run per requirement set (– where the column does not run
 * that set); then, per cell, the scenarios that pass direct (the first column) but not there.
 */
export function conformanceTable(columns: string[], runs: Map<string, ServerSuiteRun>): string {
  const rows = [`| | ${REQUIREMENT_SETS.join(' | ')} |`, `|---|${REQUIREMENT_SETS.map(() => '---|').join('')}`];
  const notes: string[] = [];
  for (const col of columns) {
    const cells = REQUIREMENT_SETS.map((set) => {
      const run = runs.get(`${set} ${col}`);
      if (!run) return '–';
      const direct = runs.get(`${set} ${columns[0]}`);
      const all = [...run.scenarios.values()];
      const lost = [...(direct?.scenarios ?? [])].filter(([n, s]) => s.ok && !run.scenarios.get(n)?.ok);
      if (lost.length) notes.push(`- ${set}, ${col}: ${lost.map(([n]) => n).join(', ')}`);
      const retried = [...run.scenarios].filter(([, s]) => s.retried).map(([n]) => n);
      if (retried.length) notes.push(`- ${set}, ${col}: run twice (timed out the first time): ${retried.join(', ')}`);
      return `${all.filter((s) => s.ok).length}/${all.length}`;
    });
    rows.push(`| ${col} | ${cells.join(' | ')} |`);
  }
  if (notes.length) rows.push('', 'Passing direct, failing in that column (or run twice):', ...notes);
  return rows.join('\n');
}

export interface Column {
  name: string;
  url: string;
  /** The requirement sets run against it (default: all); a bridge column runs the set it bridges. */
  sets?: readonly RequirementSet[];
}

const API_KEY = 'mcp_conformance_key_0123456789abcdef';

/** The HTTP columns held to one revision by `http.protocol`: through the version bridge, one way or the other. */
export const BRIDGED = 'HTTP, bridged (protocol 2025)';
export const REVERSE = 'HTTP, reverse (protocol 2026-07-28)';

/**
 * The columns of the conformance table: the reference server direct, and through the proxy (API key added
 * by a loopback front) as an HTTP backend (the reference server speaks both revisions: forwarded natively),
 * as an HTTP backend held to 2025 (`http.protocol: 2025`: 2026-07-28 clients go through the version bridge;
 * only that set), as an HTTP backend held to 2026-07-28 (2025 clients go through the reverse bridge; only
 * that set), as a stdio backend in each isolation mode and as the one member (prefix `ref`) of a virtual
 * server. Each column has its own server or backend, so the columns can run in parallel.
 */
export async function startConformanceColumns(): Promise<{ columns: Column[]; close(): Promise<void> }> {
  const servers = await Promise.all([1, 2, 3, 4, 5].map(() => startReferenceServer()));
  const [direct, behind, member, old, only2026] = servers;
  const isolations = ['session', 'user', 'shared'] as const;
  // The front is the proxy's public face: its origin is publicUrl (the suite sends it as Origin).
  const port = await freePort();
  const front = await startAuthFront(`http://127.0.0.1:${port}`, `Bearer ${API_KEY}`);
  const proxy = await startProxy({
    server: { port, publicUrl: front.url },
    apiKeys: [{ name: 'conformance', sha256: hashApiKey(API_KEY), subject: 'svc:conformance' }],
    backends: [
      { name: 'ref-http', http: { url: behind!.url } },
      { name: 'ref-bridged', http: { url: old!.url, transport: 'streamable', protocol: '2025' } },
      { name: 'ref-reverse', http: { url: only2026!.url, transport: 'streamable', protocol: '2026-07-28' } },
      ...isolations.map((i) => referenceStdioBackend(`ref-stdio-${i}`, i)),
      { name: 'ref-member', http: { url: member!.url } },
    ],
    virtualServers: [{ name: 'ref-virtual', backends: [{ name: 'ref-member', prefix: 'ref' }] }],
  });
  const columns: Column[] = [
    { name: 'direct', url: direct!.url },
    { name: 'HTTP backend', url: `${front.url}/mcp/ref-http` },
    { name: BRIDGED, url: `${front.url}/mcp/ref-bridged`, sets: ['2026-07-28'] },
    { name: REVERSE, url: `${front.url}/mcp/ref-reverse`, sets: ['2025-11-25'] },
    ...isolations.map((i) => ({ name: `stdio (${i})`, url: `${front.url}/mcp/ref-stdio-${i}` })),
    { name: 'virtual server', url: `${front.url}/mcp/ref-virtual` },
  ];
  return {
    columns,
    close: async () => {
      await front.close();
      await proxy.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/**
 * Failures that only say the suite's clock ran out: its request timeouts, its scenario limit (30 s), and the
 * `server-stateless` checks that read a tools/call stream for 500-600 ms and found no frame in time.
 */
const TIMING = [
  /aborted due to timeout/,
  /did not complete within \d+ms/,
  /Failed to receive progressive stream chunk/,
  /dropped or failed to yield frame structures/,
];

/**
 * Every requirement set against every column: the columns in parallel, the sets one after the other per
 * column (all twelve at once was slower on two cores, and two runs on one shared stdio child met).
 */
export async function runConformanceTable(columns: Column[]): Promise<Map<string, ServerSuiteRun>> {
  const runs = new Map<string, ServerSuiteRun>();
  await Promise.all(
    columns.map(async (col) => {
      for (const set of col.sets ?? REQUIREMENT_SETS)
        runs.set(`${set} ${col.name}`, await runServerSuite(col.url, set));
    }),
  );
  // A scenario that passed direct and failed through by the suite's clock (a loaded machine; a stdio child
  // started per session) is run once more, alone; its other failures, if any, show again in that run.
  const retries = columns.slice(1).flatMap((col) =>
    (col.sets ?? REQUIREMENT_SETS).flatMap((set) => {
      const run = runs.get(`${set} ${col.name}`)!;
      const direct = runs.get(`${set} ${columns[0]!.name}`)!;
      return [...run.scenarios]
        .filter(([n, s]) => direct.scenarios.get(n)?.ok && !s.ok && s.failures.length > 0)
        .filter(([, s]) => s.failures.some((f) => TIMING.some((re) => re.test(f))))
        .map(([n]) => ({ run, url: col.url, set, scenario: n }));
    }),
  );
  for (const r of retries) {
    const again = (await runServerSuite(r.url, r.set, { scenario: r.scenario })).scenarios.get(r.scenario);
    if (again) r.run.scenarios.set(r.scenario, { ...again, retried: true });
  }
  return runs;
}
