/**
 * The command line (documented in README.md): run the proxy, `check-config`, or wrap one legacy stdio
 * server with zero config (`… --issuer URL --client-id ID --client-secret-file F -- node server.js`).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { configWarnings, loadConfig, resolveConfigFile, type Config } from './app/config.js';
import { maskSecrets } from './config/mask.js';
import { formatResult, probesFor, runProbes } from './probe/index.js';
import { serve } from './app/serve.js';
import { fileUnreadable, startupFailure } from './app/startup-errors.js';
import { Errors } from './errors.js';
import { chooseLogFormat, type LogFormat } from './observability/pretty.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const HELP = `mcp-oidc-proxy ${VERSION} — an authenticating reverse proxy for MCP servers

Usage:
  mcp-oidc-proxy [--config FILE] [--port N] [--host ADDR] [--public-url URL] [--log-format pretty|json]
  mcp-oidc-proxy check-config [--config FILE] [--probe]
  mcp-oidc-proxy --issuer URL --client-id ID (--client-secret S | --client-secret-file F) [--port N] -- COMMAND [ARGS…]

Options:
  --config FILE           config file (YAML or JSON); default $MCP_PROXY_CONFIG, else config/proxy.yaml
  --port N, --host ADDR   override server.port / server.host
  --probe                 check-config: also try the IdP, backends, stdio commands and the store
  --public-url URL        the URL people and clients use (server.publicUrl); the IdP redirect URI is
                          URL/oauth/callback
  --log-format F          pretty (one readable line per event) or json; default pretty on a terminal,
                          else json (also log.format, $MCP_PROXY_LOG_FORMAT)
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
  publicUrl?: string;
  logFormat?: LogFormat;
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
      'public-url': { type: 'string' },
      'log-format': { type: 'string' },
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
    throw new Errors.USAGE(`unknown command "${positionals.join(' ')}" (see --help)`);
  if (values.probe && positionals[0] !== 'check-config') throw new Errors.USAGE('--probe goes with check-config');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535)
      throw new Errors.USAGE(`--port: "${values.port}" is not a port number: use 1-65535 (0 picks a free one)`);
  }
  const logFormat = values['log-format'];
  if (logFormat !== undefined && logFormat !== 'pretty' && logFormat !== 'json')
    throw new Errors.USAGE(`--log-format: "${logFormat}" is neither pretty nor json`);
  const wrapping = child.length > 0 || values.issuer || values['client-id'];
  return {
    command: positionals[0] === 'check-config' ? 'check-config' : 'run',
    config: values.config,
    probe: values.probe,
    port,
    host: values.host,
    publicUrl: values['public-url'] === undefined ? undefined : publicUrlFlag(values['public-url']),
    logFormat,
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

/** `--public-url`: an absolute http(s) URL, no query or fragment; a trailing slash is dropped. */
function publicUrlFlag(raw: string): string {
  let u: URL | undefined;
  try {
    u = new URL(raw);
  } catch {}
  if (!u || !/^https?:$/.test(u.protocol) || u.search || u.hash || u.username || u.password || /[?#]/.test(raw))
    throw new Errors.USAGE(
      `--public-url: "${raw}" is not an absolute http(s) URL without query or fragment (e.g. http://localhost:8080)`,
    );
  return u.href.replace(/\/+$/, '');
}

/** The files named on the command line or as config, read before anything starts: one clear line if one cannot be. */
function checkFiles(p: Parsed, file: string | undefined): void {
  const readable = (what: string, path: string, hint?: string) => {
    try {
      accessSync(path, constants.R_OK);
      if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } catch (e) {
      throw fileUnreadable(what, path, e as NodeJS.ErrnoException, hint);
    }
  };
  if (file) readable('config file', file, 'pass --config FILE');
  if (p.wrap?.clientSecretFile) readable('client secret file', p.wrap.clientSecretFile);
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
    const overrides = { port: p.port, host: p.host, publicUrl: p.publicUrl };
    return loadConfig({ file, doc, env: io.env, cwd: io.cwd, overrides });
  } catch (e) {
    return { problems: [(e as Error).message], file };
  }
}

/** Runs a command; an expected failure (./app/startup-errors.ts) is one line on stderr and an exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  try {
    return await command(parseCli(argv), io);
  } catch (e) {
    const failure = startupFailure(e);
    if (!failure) throw e;
    io.err(`${failure.line}\n`);
    return failure.exitCode;
  }
}

async function command(parsed: Parsed, io: CliIo): Promise<number> {
  if (parsed.command === 'help') {
    io.out(HELP);
    return 0;
  }
  if (parsed.command === 'version') {
    io.out(`${VERSION}\n`);
    return 0;
  }
  checkFiles(parsed, resolveConfigFile(parsed.config, io.env, io.cwd));
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
  const format = chooseLogFormat(parsed.logFormat, config.log.format, Boolean(process.stdout.isTTY));
  // SIGHUP (and server.watchConfig) re-read the same file, environment and flags.
  return serve(config, { reload: () => load(parsed, io), err: io.err, format, version: VERSION, file });
}

/** `check-config --probe`: one line per probe, exit 1 when any failed. */
async function probe(config: Config, io: CliIo): Promise<number> {
  const results = await runProbes(probesFor(config));
  const failed = results.filter((r) => !r.ok).length;
  io.out(`${results.map((r) => `${formatResult(r)}\n`).join('')}`);
  io.out(failed ? `probes: ${failed} of ${results.length} failed\n` : `probes: all ${results.length} OK\n`);
  return failed ? 1 : 0;
}
