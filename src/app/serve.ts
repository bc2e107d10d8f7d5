/**
 * Running the proxy: build, listen (an address that cannot be had is an expected start-up
 * failure, ./startup-errors.ts), say where it listens and which redirect URI to register, then
 * serve until SIGTERM/SIGINT (draining) while SIGHUP and the config watcher reload it.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './build.js';
import { configWarnings, type Config, type LoadResult } from './config.js';
import { reloadTriggers } from './triggers.js';
import { listenFailed } from './startup-errors.js';
import { DEV_IDP_PATH } from '../config/load.js';
import { prettyStream, type LogFormat } from '../observability/pretty.js';

export interface ServeOptions {
  /** Re-reads the config (SIGHUP, server.watchConfig): the same file, environment and flags. */
  reload: () => LoadResult;
  /** Where the human lines go (listening URL, redirect URI to register). */
  err: (s: string) => void;
  format: LogFormat;
  version: string;
  file?: string;
}

/** Builds the app, listens, and resolves with the exit code once a signal has drained it. */
export async function serve(config: Config, { reload, err, format, version, file }: ServeOptions): Promise<number> {
  // Audit lines follow the log stream (unless audit.file is set): pretty on a terminal too.
  const proxy = await buildApp(config, format === 'pretty' ? { logStream: prettyStream(process.stdout) } : {});
  const { app, client } = proxy;
  for (const w of configWarnings(config)) app.log.warn({ event: 'config.lint' }, w);
  const { host, port, publicUrl } = config.server;
  try {
    await listenQuietly(app, host, port);
  } catch (e) {
    await app.close().catch(() => {});
    throw listenFailed(e as NodeJS.ErrnoException, host, port) ?? e;
  }
  const a = app.server.address() as AddressInfo;
  const scheme = config.server.tls ? 'https' : 'http';
  const listening = `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  const redirectUri = config.oidc && config.oidc.issuer !== `${publicUrl}${DEV_IDP_PATH}` && config.oidc.redirectUri;
  const said =
    `mcp-oidc-proxy ${version} listening on ${listening}` +
    (publicUrl === listening ? '' : ` (public URL ${publicUrl})`);
  const register = redirectUri ? `register this redirect URI at your IdP: ${redirectUri}` : undefined;
  const backends = config.backends.map((b) => b.name);
  app.log.info({ event: 'start', listening, publicUrl, redirectUri: redirectUri || undefined, backends }, said);
  if (register) app.log.info({ event: 'start.redirect_uri' }, register);
  // JSON lines are for machines: the person starting the proxy reads these on stderr (pretty lines say it already).
  if (format === 'json') err(`${said}\n${register ? `${register}\n` : ''}`);
  client
    ?.get()
    .catch(() =>
      app.log.warn(
        { event: 'idp.discovery_failed', issuer: client.settings.issuer, reason: client.lastError },
        `IdP discovery failed: ${client.lastError}; retrying at the next login`,
      ),
    );
  return new Promise<number>((resolve) => {
    let closing = false;
    const stop = (signal: string) => {
      if (closing) return;
      closing = true;
      stopReloads();
      process.off('SIGHUP', tlsReload);
      app.log.info({ event: 'shutdown', signal }, 'draining in-flight requests');
      const force = setTimeout(() => {
        app.log.warn({ event: 'shutdown.forced' }, 'shutdown timeout reached: closing remaining connections');
        app.server.closeAllConnections();
        resolve(0);
      }, config.server.shutdownTimeout);
      force.unref();
      app.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    onLauncherExit(() => stop('launcher exited'));
    // server.tls: SIGHUP also re-reads the certificate files (they are watched as well).
    const tlsReload = () => proxy.tls?.reload('SIGHUP');
    if (proxy.tls) process.on('SIGHUP', tlsReload);
    const stopReloads = reloadTriggers({
      file,
      watchConfig: config.server.watchConfig,
      load: reload,
      reload: proxy.reload,
      log: app.log,
    });
  });
}

/** Fastify's own "Server listening at …" line: the proxy says it once, in its own words, with the public URL. */
const FASTIFY_LISTENING = '\u0000fastify-listening';

async function listenQuietly(app: FastifyInstance, host: string, port: number): Promise<void> {
  const log = app.log as unknown as { info: (...a: unknown[]) => void };
  const info = log.info;
  log.info = function (this: unknown, ...a: unknown[]) {
    if (a[0] !== FASTIFY_LISTENING) info.apply(this, a);
  };
  try {
    await app.listen({ host, port, listenTextResolver: () => FASTIFY_LISTENING });
  } finally {
    log.info = info;
  }
}

/**
 * `npx mcp-oidc-proxy` runs npm → sh → node: a SIGTERM to npm reaches sh, which ends without
 * passing it on, and the proxy would go on serving as an orphan. Under `npm exec` (npx), the
 * launcher going away (the parent process changes) stops the proxy as SIGTERM would. Not
 * otherwise: `nohup mcp-oidc-proxy &` must outlive its shell.
 */
function onLauncherExit(stop: () => void): void {
  if (process.env.npm_command !== 'exec') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 250);
  timer.unref();
}
