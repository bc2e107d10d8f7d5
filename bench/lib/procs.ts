/** Child processes of one bench run: started, waited for, and all stopped at the end. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const started = new Set<ChildProcess>();

export interface Started {
  proc: ChildProcess;
  /** The port it printed as `listening <port>`, when asked to wait for that. */
  port?: number;
  stop(): Promise<void>;
}

/** Spawn; with `waitListening`, resolve once the child prints `listening <port>`. */
export async function start(
  command: string,
  args: string[],
  opts: SpawnOptions & { waitListening?: boolean; label: string },
): Promise<Started> {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  started.add(proc);
  const tail: string[] = [];
  const keep = (d: Buffer) => {
    tail.push(d.toString());
    if (tail.length > 20) tail.shift();
  };
  proc.stderr?.on('data', keep);
  const stop = () => stopProc(proc);
  if (!opts.waitListening) {
    proc.stdout?.on('data', keep);
    return { proc, stop };
  }
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.label} did not start in 20 s:\n${tail.join('')}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      keep(d);
      const m = /listening (\d+)/.exec(d.toString());
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.label} exited with ${code}:\n${tail.join('')}`));
    });
  });
  return { proc, port, stop };
}

export async function stopProc(proc: ChildProcess): Promise<void> {
  started.delete(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const force = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(force);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map(stopProc));
}

/** Poll a URL until it answers (any status), up to `ms`. */
export async function waitHttp(url: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`${url} did not answer in ${ms} ms: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
