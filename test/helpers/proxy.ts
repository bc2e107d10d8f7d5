/**
 * Start the real proxy (buildApp + listen) on a free loopback port for a test, with a
 * config document merged over a minimal valid one. Log lines are captured for assertions.
 */
import { PassThrough } from 'node:stream';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { buildApp, type AppDeps, type ProxyApp } from '../../src/app.js';
import { loadConfig } from '../../src/app/config.js';
import { freePort } from './ports.js';

export const TEST_SESSION_KEY = Buffer.alloc(32, 7).toString('base64');
export const OTHER_SESSION_KEY = Buffer.alloc(32, 9).toString('base64');

export interface RunningProxy extends ProxyApp {
  url: string;
  logs: () => Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startProxy(
  doc: Record<string, unknown>,
  deps: AppDeps = {},
  env: Record<string, string> = {},
): Promise<RunningProxy> {
  const port = await freePort();
  const server = { host: '127.0.0.1', port, logLevel: 'info', ...((doc.server as object) ?? {}) };
  const base = { session: { keys: [TEST_SESSION_KEY] }, ...doc, server };
  const { config, problems } = loadConfig({ doc: base, env });
  if (!config) throw new Error(`test config invalid:\n${problems.join('\n')}`);
  const lines: Array<Record<string, unknown>> = [];
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
  });
  const built = await buildApp(config, { logStream, ...deps });
  await built.app.listen({ host: '127.0.0.1', port: config.server.port });
  return { ...built, url: config.server.publicUrl, logs: () => lines, close: () => closeSoon(built.app) };
}

/**
 * Close like the CLI does: drain, then cut what is still open after a grace period (the CLI
 * uses server.shutdownTimeout) — clients left connected would otherwise hold the server open.
 */
export async function closeSoon(app: ProxyApp['app'], graceMs = 500): Promise<void> {
  const force = setTimeout(() => app.server.closeAllConnections(), graceMs);
  await app.close();
  clearTimeout(force);
}

/**
 * A proxy stopped and started again on the same port: connections the test's fetch kept alive to
 * the old process are dead, and reusing one races its close ("other side closed"). The global
 * fetch pool is replaced, so every request after the restart opens a connection of its own.
 */
export async function restartProxy(proxy: RunningProxy, doc: Record<string, unknown>): Promise<RunningProxy> {
  await proxy.close();
  const old = getGlobalDispatcher();
  setGlobalDispatcher(new Agent());
  await old.close();
  return startProxy(doc);
}
