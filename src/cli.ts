/**
 * The command line (documented in README.md): run the proxy, `check-config`, or wrap one legacy stdio
 * server with zero config (`… --issuer URL --client-id ID --client-secret-file F -- node server.js`).
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { configWarnings, loadConfig, resolveConfigFile, type Config } from './app/config.js';
import { maskSecrets } from './config/mask.js';
import { reloadTriggers } from './app/triggers.js';
import { formatResult, probesFor, runProbes } from './probe/index.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const HELP = `mcp-oidc-proxy ${VERSION} — an authenticating reverse proxy for MCP servers

Usage:
  mcp-oidc-proxy [--config FILE] [--port N] [--host ADDR]
  mcp-oidc-proxy check-config [--config FILE] [--probe]
  mcp-oidc-proxy --issuer URL --client-id ID (--client-secret S | --client-secret-file F) [--port N] -- COMMAND [ARGS…]

Options:
  --config FILE           config file (YAML or JSON); default $MCP_PROXY_CONFIG, else config/proxy.yaml
  --port N, --host ADDR   override server.port / server.host
  --probe                 check-config: also try the IdP, backends, stdio commands and the store
  --issuer URL            OIDC issuer (zero-config form)
  --client-id ID          OIDC client id (zero-config form)
  --client-secret S       OIDC client secret (prefer --client-secret-file or $OIDC_CLIENT_SECRET)
  --client-secret-file F  file holding the client secret
  --version, --help
`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
};

interface Parsed {
  command: 'run' | 'check-config' | 'help' | 'version';
  config?: string;
  probe?: boolean;
  port?: number;
  host?: string;
  wrap?: { issuer?: string; clientId?: string; clientSecret?: string; clientSecretFile?: string; argv: string[] };
}

export function parseCli(argv: string[]): Parsed {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const child = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'client-secret-file': { type: 'string' },
      probe: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  if (positionals.length > 1 || (positionals[0] && positionals[0] !== 'check-config'))
    throw new Error(`unknown command "${positionals.join(' ')}" (see --help)`);
  if (values.probe && positionals[0] !== 'check-config') throw new Error('--probe goes with check-config');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port: not a port number: ${values.port}`);
  }
  const wrapping = child.length > 0 || values.issuer || values['client-id'];
  return {
    command: positionals[0] === 'check-config' ? 'check-config' : 'run',
    config: values.config,
    probe: values.probe,
    port,
    host: values.host,
    wrap: wrapping
      ? {
          issuer: values.issuer,
          clientId: values['client-id'],
          clientSecret: values['client-secret'],
          clientSecretFile: values['client-secret-file'],
          argv: child,
        }
      : undefined,
  };
}

/** The zero-config form as a config document: one stdio backend named `default`, served at /mcp. */
function wrapDocument(w: NonNullable<Parsed['wrap']>, env: NodeJS.ProcessEnv, io: CliIo): Record<string, unknown> {
  if (!w.argv.length) throw new Error('the zero-config form needs a command after "--"');
  const secret =
    w.clientSecret ?? (w.clientSecretFile ? readFileSync(w.clientSecretFile, 'utf8').trim() : env.OIDC_CLIENT_SECRET);
  const doc: Record<string, unknown> = {
    oidc: { issuer: w.issuer, clientId: w.clientId, clientSecret: secret },
    backends: [{ name: 'default', stdio: { command: w.argv[0], args: w.argv.slice(1) } }],
  };
  if (!env.MCP_PROXY_SESSION_KEYS && !env.MCP_PROXY_SESSION_KEYS_FILE) {
    io.err(
      'warning: no MCP_PROXY_SESSION_KEYS set: using a random session key, sessions end when the proxy restarts\n',
    );
    doc.session = { keys: [randomBytes(32).toString('base64')] };
  }
  return doc;
}

function load(p: Parsed, io: CliIo): { config?: Config; problems: string[]; file?: string } {
  const file = resolveConfigFile(p.config, io.env, io.cwd);
  if (!file && !p.wrap)
    return {
      problems: [
        'no config: pass --config FILE, set MCP_PROXY_CONFIG, or create config/proxy.yaml (see config/example.yaml)',
      ],
    };
  try {
    const doc = p.wrap ? wrapDocument(p.wrap, io.env, io) : undefined;
    return loadConfig({ file, doc, env: io.env, cwd: io.cwd, overrides: { port: p.port, host: p.host } });
  } catch (e) {
    return { problems: [(e as Error).message], file };
  }
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseCli(argv);
  } catch (e) {
    io.err(`error: ${(e as Error).message}\n`);
    return 2;
  }
  if (parsed.command === 'help') {
    io.out(HELP);
    return 0;
  }
  if (parsed.command === 'version') {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const { config, problems, file } = load(parsed, io);
  if (!config) {
    const list = problems.map((p) => `  - ${p}`).join('\n');
    io.err(`invalid configuration${file ? ` (${file})` : ''}: ${problems.length} problem(s)\n${list}\n`);
    return 1;
  }
  if (parsed.command === 'check-config') {
    const warnings = configWarnings(config);
    io.out(
      `${JSON.stringify(maskSecrets(config), null, 2)}\n${warnings.map((w) => `warning: ${w}\n`).join('')}` +
        `configuration OK${file ? ` (${file})` : ''}\n`,
    );
    return parsed.probe ? probe(config, io) : 0;
  }
  // SIGHUP (and server.watchConfig) re-read the same file, environment and flags.
  return run(config, () => load(parsed, io), file);
}

/** `check-config --probe`: one line per probe, exit 1 when any failed. */
async function probe(config: Config, io: CliIo): Promise<number> {
  const results = await runProbes(probesFor(config));
  const failed = results.filter((r) => !r.ok).length;
  io.out(`${results.map((r) => `${formatResult(r)}\n`).join('')}`);
  io.out(failed ? `probes: ${failed} of ${results.length} failed\n` : `probes: all ${results.length} OK\n`);
  return failed ? 1 : 0;
}

async function run(config: Config, reload: () => ReturnType<typeof load>, file?: string): Promise<number> {
  const proxy = await buildApp(config);
  const { app, client } = proxy;
  for (const w of configWarnings(config)) app.log.warn({ event: 'config.lint' }, w);
  await app.listen({ host: config.server.host, port: config.server.port });
  app.log.info(
    { event: 'start', publicUrl: config.server.publicUrl, backends: config.backends.map((b) => b.name) },
    `mcp-oidc-proxy listening, public URL ${config.server.publicUrl}`,
  );
  client
    ?.get()
    .catch(() =>
      app.log.warn(
        { event: 'idp.discovery_failed', issuer: client.settings.issuer, reason: client.lastError },
        'IdP discovery failed; retrying at the next login',
      ),
    );
  return new Promise<number>((resolve) => {
    let closing = false;
    const stop = (signal: string) => {
      if (closing) return;
      closing = true;
      stopReloads();
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
    const stopReloads = reloadTriggers({
      file,
      watchConfig: config.server.watchConfig,
      load: reload,
      reload: proxy.reload,
      log: app.log,
    });
  });
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
