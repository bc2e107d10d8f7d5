/** The proxy for bench and soak runs: the real CLI in a child process, with a memory probe over IPC. */
import { openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { start, waitHttp, type Started } from './procs.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Probe {
  usage: NodeJS.MemoryUsage;
  /** Active resources (sockets, timers, handles) in the proxy. */
  resources: number;
}

export interface BenchProxy {
  url: string;
  started: Started;
  /** Full GC in the proxy, then its memory and resource counts. */
  probe(): Promise<Probe>;
}

/** `config` without server.port/publicUrl (filled in); logs go to <dir>/proxy.log. `dist`: another build to run. */
export async function startBenchProxy(
  dir: string,
  port: number,
  config: Record<string, unknown>,
  opts: { profileDir?: string; dist?: string } = {},
): Promise<BenchProxy> {
  const url = `http://127.0.0.1:${port}`;
  const file = join(dir, 'proxy.yaml');
  writeFileSync(
    file,
    stringify({ ...config, server: { host: '127.0.0.1', port, publicUrl: url, ...(config.server as object) } }),
  );
  const out = openSync(join(dir, 'proxy.log'), 'a');
  const profile = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  const started = await start(
    process.execPath,
    ['--expose-gc', ...profile, join(here, '../servers/proxy.mjs'), '--config', file],
    {
      label: 'proxy',
      stdio: ['ignore', out, out, 'ipc'],
      cwd: join(here, '../..'),
      env: opts.dist ? { ...process.env, BENCH_PROXY_DIST: opts.dist } : process.env,
    },
  );
  await waitHttp(`${url}/healthz`);
  let n = 0;
  const probe = () =>
    new Promise<Probe>((resolve) => {
      const id = ++n;
      const on = (m: { type?: string; id?: number } & Probe) => {
        if (m?.type === 'mem' && m.id === id) {
          started.proc.off('message', on);
          resolve({ usage: m.usage, resources: m.resources });
        }
      };
      started.proc.on('message', on);
      started.proc.send({ type: 'mem', id });
    });
  return { url, started, probe };
}
