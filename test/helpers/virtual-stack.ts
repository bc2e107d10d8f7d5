/**
 * A virtual server `both` in front of an HTTP member (`web`: the demo HTTP server) and a stdio
 * member (`mux`: the multiplex test server), with two API keys: alice (group admin) and bob.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { apiKey } from './hostile.js';
import { startProxy } from './proxy.js';
import { multiplexBackend } from './stdio-stack.js';

export const alice = apiKey('alice', 'alice', { groups: ['admin'] });
export const bob = apiKey('bob', 'bob');

export interface VirtualStackOptions {
  /** The HTTP member's URL (default: a demo HTTP server started here). */
  webUrl?: string;
  /** More members (backends config) and their entries in the virtual server. */
  extra?: { backends: unknown[]; members: Array<{ name: string; prefix: string }> };
}

export async function startVirtualStack(o: VirtualStackOptions = {}) {
  const demo = o.webUrl ? undefined : await startDemoHttpServer();
  const proxy = await startProxy({
    apiKeys: [alice.config, bob.config],
    backends: [
      {
        name: 'web',
        http: { url: o.webUrl ?? demo!.url },
        tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: '*' }],
      },
      multiplexBackend('mux', 'session'),
      ...(o.extra?.backends ?? []),
    ],
    virtualServers: [
      {
        name: 'both',
        backends: [{ name: 'web', prefix: 'web' }, { name: 'mux', prefix: 'mux' }, ...(o.extra?.members ?? [])],
      },
    ],
  });
  const clients: Client[] = [];
  return {
    proxy,
    demo,
    url: `${proxy.url}/mcp/both`,
    /** A real SDK client on the virtual server. */
    async connect(who: { headers: Record<string, string> }, capabilities: Record<string, unknown> = {}) {
      const client = new Client({ name: 'virtual-test', version: '1' }, { capabilities });
      const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/both`), {
        requestInit: { headers: who.headers },
      });
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await proxy.close();
      await demo?.close();
    },
  };
}

/** The structured (or text) result of a tool call. */
export async function tool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = (await client.callTool({ name, arguments: args })) as any;
  return r.structuredContent ?? r.content?.[0]?.text;
}
