/** Run the real CLI (`node bin/mcp-oidc-proxy.js`, as tooling outside the project does) or the demo. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/mcp-oidc-proxy.js`;

export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH!, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start a long-running process and wait until `url` answers 200. */
export async function startAndWait(
  script: string,
  args: string[],
  env: Record<string, string>,
  url: string,
  timeoutMs = 20_000,
  cwd = ROOT,
): Promise<{ child: ChildProcess; output: () => string; stdout: () => string; stderr: () => string }> {
  const child = spawn(process.execPath, [script, ...args], { cwd, env: { PATH: process.env.PATH!, ...env } });
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
    stderr += d;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited early:\n${out}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, output: () => out, stdout: () => stdout, stderr: () => stderr };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not answer ${url} within ${timeoutMs} ms:\n${out}`);
}

/** Resolves when the child's output (stdout and stderr) matches `pattern`; rejects after `timeoutMs`. */
export function outputMatches(child: ChildProcess, output: () => string, pattern: RegExp, timeoutMs = 15_000) {
  return new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = output().match(pattern);
      if (!m) return false;
      done();
      resolve(m[0]);
      return true;
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
    };
    // Listeners added after startAndWait's, so output() already holds the chunk that fired them.
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (code) => r(code)));
}
