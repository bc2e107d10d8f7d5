/**
 * Runs the MCP conformance suite's authorization-server mode (`conformance authorization`, on
 * Node 22 from scripts/conformance-env.mjs) and plays the user: when it prints the authorization
 * URL, a headless browser logs in and approves, landing on the suite's callback server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CookieJar, headlessLogin, type HeadlessLoginResult } from './login.js';
import { ROOT } from './spawn.js';

export interface ConformanceCheck {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
  details?: Record<string, unknown>;
}

export interface ConformanceRun {
  exitCode: number | null;
  /** checks.json of every scenario, by scenario name. */
  scenarios: Map<string, ConformanceCheck[]>;
  /** `Total: N passed, M failed` from the summary. */
  total?: { passed: number; failed: number };
  /** The headless login through the authorization URL the suite printed. */
  login?: HeadlessLoginResult;
  stdout: string;
}

/** Node 22 and the suite's CLI, installed into the cache when missing. */
export function conformanceEnv(): { node: string; cli: string } {
  const out = execFileSync(process.execPath, [join(ROOT, 'scripts/conformance-env.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.toString()) as { node: string; cli: string };
}

export async function runAuthorizationSuite(o: {
  issuer: string;
  clientId: string;
  resource?: string;
  callbackPort: number;
  user?: string;
}): Promise<ConformanceRun> {
  const env = conformanceEnv();
  const outDir = mkdtempSync(join(tmpdir(), 'conformance-'));
  const args = ['authorization', '--url', o.issuer, '--client-id', o.clientId];
  if (o.resource) args.push('--resource', o.resource);
  args.push('--port', String(o.callbackPort), '--output-dir', outDir);
  const child = spawn(env.node, [env.cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  let login: Promise<HeadlessLoginResult> | undefined;
  let callbackUp = false;
  let authUrl: string | undefined;
  const user = o.user ?? 'alice';
  const startLogin = () => {
    if (!login && callbackUp && authUrl) {
      login = headlessLogin({ startUrl: authUrl, username: user, password: user, jar: new CookieJar() });
      login.catch(() => child.kill()); // the suite would wait 5 minutes for the callback
    }
  };
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    if (line.startsWith('Callback server started:')) callbackUp = true;
    if (line.startsWith(`${o.issuer}/`) && line.includes('code_challenge=')) authUrl = line.trim();
    startLogin();
  }
  const exitCode = await exited;
  const stdout = lines.join('\n');
  const total = /^Total: (\d+) passed, (\d+) failed$/m.exec(stdout);
  return {
    exitCode,
    scenarios: readChecks(outDir),
    total: total ? { passed: Number(total[1]), failed: Number(total[2]) } : undefined,
    login: login && (await login),
    stdout,
  };
}

/** `<outDir>/authorization-server-<scenario>-<timestamp>/checks.json`, by scenario. */
function readChecks(outDir: string): Map<string, ConformanceCheck[]> {
  const out = new Map<string, ConformanceCheck[]>();
  for (const dir of readdirSync(outDir)) {
    const m = /^authorization-server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(dir);
    if (m) out.set(m[1]!, JSON.parse(readFileSync(join(outDir, dir, 'checks.json'), 'utf8')) as ConformanceCheck[]);
  }
  return out;
}

/**
 * One server scenario of the suite (`conformance server --scenario`) against `url`, asynchronously;
 * its checks. The suite sends no credentials: point it at an authenticating front (authFront).
 */
export async function runServerScenario(url: string, scenario: string): Promise<ConformanceCheck[]> {
  const env = conformanceEnv();
  const outDir = mkdtempSync(join(tmpdir(), 'conformance-'));
  const args = ['server', '--url', url, '--scenario', scenario, '--output-dir', outDir];
  const child = spawn(env.node, [env.cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise((resolve) => child.once('exit', resolve));
  const dir = readdirSync(outDir).find((d) => d.includes(scenario));
  return dir ? (JSON.parse(readFileSync(join(outDir, dir, 'checks.json'), 'utf8')) as ConformanceCheck[]) : [];
}
