/**
 * mcp-remote (the stdio ↔ streamable HTTP bridge with OAuth that stdio-only MCP hosts use) run
 * for real, with the SDK `Client` talking MCP to it over stdio — as Claude Desktop would.
 *
 * Headless and isolated: its state (client registration, tokens) goes to a temp
 * `MCP_REMOTE_CONFIG_DIR`, and it can never start a real browser: `BROWSER` is a recorder script
 * that only writes the URL it was given to a file (the `open` package runs xdg-open, which in a
 * session without a desktop uses `$BROWSER`; StdioClientTransport passes no DISPLAY,
 * WAYLAND_DISPLAY or XDG_CURRENT_DESKTOP to the child), and the same recorder
 * shadows xdg-open, gio, x-www-browser, sensible-browser and www-browser on PATH (mcp-remote's
 * Linux fallbacks). The authorization URL is read from its stderr, where it prints it.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ROOT } from './spawn.js';

export const MCP_REMOTE = `${ROOT}node_modules/mcp-remote/dist/proxy.js`;

const OPENERS = ['xdg-open', 'gio', 'x-www-browser', 'sensible-browser', 'www-browser'];

/** A temp dir for mcp-remote's config (tokens) and a no-op "browser" that records what it was asked to open. */
export async function mcpRemoteHome(): Promise<{
  dir: string;
  configDir: string;
  binDir: string;
  opened: () => Promise<string[]>;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-remote-test-'));
  const configDir = join(dir, 'config');
  const binDir = join(dir, 'bin');
  const log = join(dir, 'opened.txt');
  const recorder =
    '#!/bin/sh\n# a browser that opens nothing: it records the last argument (the URL)\n' +
    `for a; do last="$a"; done\nprintf '%s\\n' "$last" >> '${log}'\nexit 0\n`;
  await mkdir(binDir, { recursive: true });
  for (const name of ['browser', ...OPENERS]) {
    await writeFile(join(binDir, name), recorder);
    await chmod(join(binDir, name), 0o755);
  }
  return {
    dir,
    configDir,
    binDir,
    opened: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface McpRemote {
  client: Client;
  transport: StdioClientTransport;
  /** Settles when the MCP handshake through mcp-remote is done (after any sign-in it needs). */
  connected: Promise<void>;
  /** Everything mcp-remote wrote to stderr so far. */
  stderr(): string;
  /**
   * Resolves with the first match of `re` in stderr (past or
   * future); rejects after `timeoutMs` or if the process exits.
   */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Ends the child (stdin closed, then SIGTERM, then SIGKILL) and makes sure it is gone. */
  close(): Promise<void>;
  /** Whether the child process still exists. */
  alive(): boolean;
}

/**
 * Spawns `node mcp-remote/dist/proxy.js <serverUrl> [callbackPort] --host 127.0.0.1 ...args` and
 * starts connecting the SDK client to it. Not awaited: the handshake only completes once
 * mcp-remote has its tokens, which may need the caller to do the browser part first.
 */
export function startMcpRemote(opts: {
  serverUrl: string;
  callbackPort?: number;
  home: { configDir: string; binDir: string };
  args?: string[];
  connectTimeoutMs?: number;
}): McpRemote {
  const args = [
    MCP_REMOTE,
    opts.serverUrl,
    ...(opts.callbackPort ? [String(opts.callbackPort)] : []),
    '--host',
    '127.0.0.1',
    ...(opts.args ?? []),
  ];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    cwd: ROOT,
    stderr: 'pipe',
    env: {
      MCP_REMOTE_CONFIG_DIR: opts.home.configDir,
      BROWSER: join(opts.home.binDir, 'browser'),
      PATH: `${opts.home.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    },
  });
  let err = '';
  const waiters = new Set<() => void>();
  transport.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const w of waiters) w();
  });
  let exited = false;
  transport.onclose = () => {
    // set before connect(): the Client chains its own handler after this one
    exited = true;
    for (const w of waiters) w();
  };
  const client = new Client({ name: 'mcp-remote-test', version: '1' });
  const connected = client.connect(transport, { timeout: opts.connectTimeoutMs ?? 60_000 });
  connected.catch(() => undefined); // the caller awaits it; never an unhandled rejection
  const pid = transport.pid; // connect() spawns synchronously

  return {
    client,
    transport,
    connected,
    stderr: () => err,
    waitForStderr(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = err.match(re);
          if (m) return done(() => resolve(m));
          if (exited) return done(() => reject(new Error(`mcp-remote exited before printing ${re}:\n${err}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`mcp-remote did not print ${re} within ${timeoutMs} ms:\n${err}`))),
          timeoutMs,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    alive() {
      if (pid === null) return false;
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await client.close().catch(() => undefined);
      await transport.close().catch(() => undefined);
      if (pid !== null) {
        try {
          process.kill(pid, 0);
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
