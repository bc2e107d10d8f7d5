/**
 * A real 2025 streamable-HTTP MCP server (the SDK's transport, one per session) that tells what
 * happened to its sessions, for the version bridge's lifecycle tests: events `initialize`,
 * `get`, `post`, `delete` (each with the session id), controls to drop a session's GET stream,
 * to forget a session (then 404, as the spec has a server answer an id it no longer knows), and
 * to refuse a method with 404. Tools: `echo`, `grow` (adds a tool: a list-changed notification);
 * a resource `test://doc` that can be subscribed to (event `subscribe` with the session id).
 */
import { EventEmitter, once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { listen, shut } from './backend-mcp.js';

export interface SeenPost {
  method?: string;
  session?: string;
  user?: string;
  status?: number;
}

export interface SessionServer {
  url: string;
  port: number;
  events: EventEmitter;
  posts: SeenPost[];
  /** Session ids in the order they were initialized, with the user that initialized each. */
  opened: Array<{ id: string; user?: string }>;
  deleted: string[];
  gets: string[];
  /** Session ids of each resources/subscribe, in order. */
  subscribed: string[];
  /** The session's GET stream ends (the server drops it; the session lives on). */
  dropStream(id: string): void;
  /** The server forgets the session: its id gets 404 from now on. */
  forget(id: string): void;
  /** Requests of this method on a session get 404 (as if the session were gone). */
  refuse?: string;
  /** The next event `name` whose session id is `id` (any id when undefined). */
  next(name: 'initialize' | 'get' | 'delete' | 'subscribe', id?: string): Promise<string>;
  close(): Promise<void>;
}

const text = (s: string) => ({ content: [{ type: 'text' as const, text: s }] });

/** `port`: a fixed one (0: any free port). */
export async function startSessionServer(port = 0): Promise<SessionServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const events = new EventEmitter();
  const posts: SeenPost[] = [];
  const opened: SessionServer['opened'] = [];
  const deleted: string[] = [];
  const gets: string[] = [];
  const subscribed: string[] = [];
  const self: SessionServer = {} as SessionServer;
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const sid = req.headers['mcp-session-id'] as string | undefined;
    const user = req.headers['x-forwarded-user'] as string | undefined;
    const seen: SeenPost = { method: body?.method, session: sid, user };
    if (req.method === 'POST') posts.push(seen);
    let transport = sid === undefined ? undefined : sessions.get(sid);
    if (sid !== undefined && (!transport || (self.refuse && body?.method === self.refuse))) {
      seen.status = 404;
      const error = { jsonrpc: '2.0', id: body?.id ?? null, error: { code: -32001, message: 'Session not found' } };
      return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(error));
    }
    if (req.method === 'GET' && sid) {
      gets.push(sid);
      events.emit('get', sid);
    }
    if (req.method === 'DELETE' && sid) {
      deleted.push(sid);
      sessions.delete(sid);
      events.emit('delete', sid);
    }
    if (!transport) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, created);
          opened.push({ id, user });
          events.emit('initialize', id);
        },
      });
      transport = created;
      const mcp = new McpServer({ name: 'session-server', version: '1.0.0' });
      mcp.registerTool('echo', { inputSchema: { text: z.string().optional() } }, async (a) => text(String(a.text)));
      let added = 0;
      mcp.registerTool('grow', { description: 'adds a tool' }, async () => {
        mcp.registerTool(`added_${++added}`, { description: 'added' }, async () => text('added'));
        return text('grown');
      });
      mcp.registerResource('doc', 'test://doc', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'doc' }] }));
      mcp.server.registerCapabilities({ resources: { subscribe: true } });
      mcp.server.setRequestHandler(SubscribeRequestSchema, async (_req, extra) => {
        subscribed.push(String(extra.sessionId));
        events.emit('subscribe', extra.sessionId);
        return {};
      });
      await mcp.connect(transport);
    }
    await transport.handleRequest(req, res, body);
    seen.status = res.statusCode;
  });
  const bound = await listen(http, port);
  const next = async (name: string, id?: string) => {
    for (;;) {
      const [got] = (await once(events, name)) as [string];
      if (id === undefined || got === id) return got;
    }
  };
  return Object.assign(self, {
    url: `http://127.0.0.1:${bound}/mcp`,
    port: bound,
    events,
    posts,
    opened,
    deleted,
    gets,
    subscribed,
    dropStream: (id: string) => sessions.get(id)?.closeStandaloneSSEStream(),
    forget: (id: string) => void sessions.delete(id),
    next,
    close: () => shut(http),
  });
}
