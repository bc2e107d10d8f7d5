/**
 * Real Redis and PostgreSQL servers for tests, each started on a free loopback port in its own
 * temporary directory (from Debian's redis-server and postgresql, which scripts/test.sh
 * installs) and stopped by the returned close(). PostgreSQL refuses to run as root: as root
 * the cluster belongs to the `postgres` user and its programs run with that uid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from './ports.js';

export interface DbServer {
  url: string;
  port: number;
  /** Stop the server (its data stays until close()). */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function waitFor(check: () => Promise<unknown>, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      await check();
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not start: ${(last as Error)?.message}`);
}

function stopChild(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
    setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
  });
}

export async function startRedis(): Promise<DbServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  let proc: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.ping();
      } finally {
        c.disconnect();
      }
    }, 'redis-server');
  };
  await start();
  return dbServer(url, port, dir, start, () => stopChild(proc, 'SIGTERM'));
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!version) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  return join(root, version, 'bin', name);
}

export async function startPostgres(): Promise<DbServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  const owner =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
          gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
        }
      : {};
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
  const data = join(dir, 'data');
  execFileSync(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], {
    stdio: 'ignore',
    cwd: dir,
    ...owner,
  });
  let proc: ChildProcess | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    proc = spawn(
      pgBin('postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-F'],
      { stdio: 'ignore', cwd: dir, ...owner },
    );
    await waitFor(async () => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      await client.connect();
      await client.end();
    }, 'postgres');
  };
  await start();
  // SIGINT: PostgreSQL's fast shutdown (clients are disconnected).
  return dbServer(url, port, dir, start, () => stopChild(proc, 'SIGINT'));
}

/** A started server: `stop`/`start` keep its data directory, `close` stops it and removes the directory. */
function dbServer(
  url: string,
  port: number,
  dir: string,
  start: () => Promise<void>,
  stop: () => Promise<void>,
): DbServer {
  return {
    url,
    port,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
