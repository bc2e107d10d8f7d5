/** The proxy with stdio backends running examples/demo-stdio-server.mjs, behind a real IdP. */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT } from './spawn.js';
import { startStack } from './stack.js';

export const DEMO_STDIO = `${ROOT}examples/demo-stdio-server.mjs`;

export function stdioBackend(
  name: string,
  isolation: 'session' | 'user' | 'shared',
  extra: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  return {
    name,
    stdio: {
      command: process.execPath,
      args: [DEMO_STDIO],
      isolation,
      env: { DEMO_ALLOW_CRASH: '1', ...env },
      ...extra,
    },
  };
}

export function startStdioStack(backends: unknown[]) {
  return startStack({ consent: false, backends: () => backends });
}

export async function connect(url: string, cookie: string, capabilities: Record<string, unknown> = {}) {
  const client = new Client({ name: 'stdio-test', version: '1' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { cookie } } });
  await client.connect(transport);
  return { client, transport };
}

export async function whoami(client: Client): Promise<any> {
  return (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent;
}

/** Live (not zombie) processes whose parent is `ppid`, optionally whose command line contains `match`. */
export function childrenOf(ppid: number, match?: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (
        Number(parent) === ppid &&
        state !== 'Z' &&
        (!match || readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(match))
      )
        pids.push(Number(d));
    } catch {
      /* the process ended while we looked */
    }
  }
  return pids.sort();
}

/** Process ids of this process's children running the demo stdio server. */
export async function demoChildren(): Promise<number[]> {
  return childrenOf(process.pid, 'demo-stdio-server');
}

/** A stdio server that records what it receives and sends logs, updates and server→client requests on demand. */
export const MULTIPLEX_STDIO = `${ROOT}test/helpers/multiplex-stdio-server.mjs`;

export function multiplexBackend(
  name: string,
  isolation: 'session' | 'user' | 'shared',
  extra: Record<string, unknown> = {},
) {
  return stdioBackend(name, isolation, { args: [MULTIPLEX_STDIO], ...extra });
}

/** This process's demo stdio children started for user `sub` (their environment names them). */
export function stdioOf(sub: string): number[] {
  return childrenOf(process.pid, 'demo-stdio-server').filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`MCP_PROXY_USER_SUB=${sub}`);
    } catch {
      return false;
    }
  });
}

/**
 * A GET stream on a fresh MCP session at `url` with this cookie (or
 * these credential headers); `ended` resolves when the proxy cuts it.
 */
export async function openStream(url: string, credential: string | Record<string, string>) {
  const auth = typeof credential === 'string' ? { cookie: credential } : credential;
  const headers = { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const res = await fetch(url, { headers: { ...auth, 'mcp-session-id': sid, accept: 'text/event-stream' } });
  const ended = (async () => {
    try {
      for await (const _ of res.body!) {
        /* keep reading until the proxy ends it */
      }
    } catch {
      /* cut */
    }
    return true;
  })();
  return { status: res.status, sessionId: sid, ended };
}

/** True when `p` settles within `ms` (a bound on waiting for an event, not a sleep). */
export function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
}
