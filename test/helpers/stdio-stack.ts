/** The proxy with stdio backends running examples/demo-stdio-server.mjs, behind a real IdP. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT } from './spawn.js';
import { startStack } from './stack.js';

export const DEMO_STDIO = `${ROOT}examples/demo-stdio-server.mjs`;

export function stdioBackend(name: string, isolation: 'session' | 'user' | 'shared', extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return { name, stdio: { command: process.execPath, args: [DEMO_STDIO], isolation, env: { DEMO_ALLOW_CRASH: '1', ...env }, ...extra } };
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

/** Process ids of live children of this process running the demo stdio server. */
export async function demoChildren(): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (ppid === process.pid && state !== 'Z' && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('demo-stdio-server')) pids.push(Number(d));
    } catch {
      /* the process ended while we looked */
    }
  }
  return pids.sort();
}
