/**
 * A real 2024-11-05 HTTP+SSE MCP server (the SDK's deprecated SSEServerTransport): GET /sse
 * opens a session's stream, POST /messages?sessionId= carries messages, POST /sse answers 405
 * (what makes a streamable client fall back). Tools: `whoami` (the identity headers of the
 * POST), `count` (progress notifications), `ask` (a sampling request to the client); with
 * `more`, also `name` (an elicitation) and `grow` (adds a tool: list changed). Records
 * the headers of every request and when each session's stream closes.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { z } from 'zod';
import { listen, shut } from './backend-mcp.js';

export interface LegacySession {
  id: string;
  /** Headers of the GET that opened the stream. */
  headers: IncomingHttpHeaders;
  /** Resolves when the stream closes (the proxy hung up). */
  closed: Promise<void>;
}

export interface LegacySseServer {
  /** The SSE endpoint: `<origin>/sse`. */
  url: string;
  sessions: Map<string, LegacySession>;
  /** Emits `open` (LegacySession) for each new stream. */
  events: EventEmitter;
  /** Headers of every POST /messages, in order. */
  posts: IncomingHttpHeaders[];
  /** The session id of every POST /messages, in the same order. */
  postedTo: string[];
  /** The server ends a session's stream (as one restarting would); resolves once closed. */
  drop(id: string): Promise<void>;
  /** The server forgets a session (its POSTs get 404) and leaves its stream open. */
  forget(id: string): void;
  /** Streams open now. */
  readonly open: number;
  close(): Promise<void>;
}

function mcpServer(more: boolean): McpServer {
  const server = new McpServer({ name: 'legacy-sse', version: '1.0.0' });
  server.registerTool('whoami', { description: 'the identity headers the tool call came with' }, async (extra) => {
    const h = extra.requestInfo?.headers ?? {};
    const text = JSON.stringify({ user: h['x-forwarded-user'], assertion: typeof h['x-mcp-proxy-assertion'] });
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool(
    'count',
    { description: 'progress from 1 to n', inputSchema: { n: z.number().int() } },
    async ({ n }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++)
        if (token !== undefined)
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: n },
          });
      return { content: [{ type: 'text', text: `counted to ${n}` }] };
    },
  );
  server.registerTool('ask', { description: 'asks the client to sample' }, async () => {
    const r = await server.server.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: 'favourite colour?' } }],
      maxTokens: 10,
    });
    return { content: [{ type: 'text', text: `client said: ${(r.content as { text: string }).text}` }] };
  });
  server.registerTool('secret', { description: 'a tool policy hides' }, async () => ({
    content: [{ type: 'text', text: 'hidden' }],
  }));
  if (!more) return server;
  server.registerTool('name', { description: 'asks the user for a name' }, async () => {
    const schema = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };
    const a = await server.server.elicitInput({ message: 'Name?', requestedSchema: schema });
    return { content: [{ type: 'text', text: `hello ${a.content?.name}` }] };
  });
  let added = 0;
  server.registerTool('grow', { description: 'adds a tool' }, async () => {
    server.registerTool(`added_${++added}`, { description: 'added' }, async () => ({ content: [] }));
    return { content: [{ type: 'text', text: 'grown' }] };
  });
  return server;
}

/** `more`: the `name` and `grow` tools too. */
export async function startLegacySseServer(more = false): Promise<LegacySseServer> {
  const transports = new Map<string, SSEServerTransport>();
  const sessions = new Map<string, LegacySession>();
  const events = new EventEmitter();
  const posts: IncomingHttpHeaders[] = [];
  const postedTo: string[] = [];
  const responses = new Map<string, import('node:http').ServerResponse>();
  const http: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res);
      transports.set(transport.sessionId, transport);
      responses.set(transport.sessionId, res);
      const closed = once(res, 'close').then(() => {
        transports.delete(transport.sessionId);
      });
      const session = { id: transport.sessionId, headers: req.headers, closed };
      sessions.set(session.id, session);
      await mcpServer(more).connect(transport);
      events.emit('open', session);
      return;
    }
    if (url.pathname === '/messages' && req.method === 'POST') {
      posts.push(req.headers);
      postedTo.push(url.searchParams.get('sessionId') ?? '');
      const transport = transports.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) return void res.writeHead(404).end('unknown session');
      return void (await transport.handlePostMessage(req, res));
    }
    res.writeHead(405, { allow: 'GET' }).end('method not allowed');
  });
  const port = await listen(http);
  return {
    url: `http://127.0.0.1:${port}/sse`,
    sessions,
    events,
    posts,
    postedTo,
    forget: (id: string) => void transports.delete(id),
    drop: async (id: string) => {
      responses.get(id)?.end();
      await sessions.get(id)?.closed;
    },
    get open() {
      return transports.size;
    },
    close: () => shut(http),
  };
}
