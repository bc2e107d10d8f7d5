/**
 * A small MCP server that speaks only the 2026-07-28 revision (no initialize, no sessions,
 * input-required results, subscriptions/listen), for the reverse bridge's tests. It checks each
 * request as the revision requires (headers mirrored, `_meta` keys) and records what it saw.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, shut } from './backend-mcp.js';

const VERSION = '2026-07-28';
const CACHEABLE = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);
const NAMED: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

export interface SeenRequest {
  method: string;
  headers: Record<string, string | undefined>;
  params: Record<string, any>;
}

interface Listener {
  id: string | number;
  filter: { toolsListChanged?: boolean; resourceSubscriptions?: string[] };
  res: ServerResponse;
}

export interface StatelessServer {
  url: string;
  seen: SeenRequest[];
  /**
   * Emits 'listeners' (the count) whenever a listen stream opens or closes; 'hanging' and
   * 'hang-closed' for the `hang` tool's call.
   */
  events: EventEmitter;
  listeners(): Listener['filter'][];
  /** Resolves when the open listen streams have exactly these filters (checked at each change). */
  listenersAre(expected: unknown[]): Promise<void>;
  /** Ends every listen stream (as a restarting server would). */
  dropListeners(): void;
  /** Listen streams opened from now on wait for `release()` before they are acknowledged. */
  holdAcks(): () => void;
  close(): Promise<void>;
}

const TOOLS = [
  { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'whoami', inputSchema: { type: 'object' } },
  { name: 'progress', inputSchema: { type: 'object' } },
  { name: 'ask_name', inputSchema: { type: 'object' } },
  { name: 'summarize', inputSchema: { type: 'object' } },
  { name: 'touch', inputSchema: { type: 'object', properties: { uri: { type: 'string' } } } },
  { name: 'hang', inputSchema: { type: 'object' } },
  { name: 'roots', inputSchema: { type: 'object' } },
];

const text = (t: string) => ({ content: [{ type: 'text', text: t }] });

/** `port`: a fixed port (0: any free one). */
export async function startStatelessServer(port = 0): Promise<StatelessServer> {
  const seen: SeenRequest[] = [];
  const listeners = new Set<Listener>();
  const events = new EventEmitter();
  let held: Array<() => void> | undefined;
  const notify = (l: Listener, method: string, params: Record<string, unknown> = {}) => {
    const _meta = { 'io.modelcontextprotocol/subscriptionId': l.id };
    l.res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method, params: { ...params, _meta } })}\n\n`);
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'POST') return send(405, { error: 'POST only' });
    const m = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const { id, method } = m;
    const params = (m.params ?? {}) as Record<string, any>;
    const fail = (status: number, code: number, message: string) =>
      send(status, { jsonrpc: '2.0', id: id ?? null, error: { code, message } });
    seen.push({ method, headers: pick(req), params });
    const version = req.headers['mcp-protocol-version'];
    if (!version) return fail(400, -32020, 'Missing MCP-Protocol-Version header');
    if (version !== VERSION) return fail(400, -32022, 'Unsupported protocol version');
    const meta = params._meta ?? {};
    if (
      meta['io.modelcontextprotocol/protocolVersion'] !== VERSION ||
      !meta['io.modelcontextprotocol/clientCapabilities']
    )
      return fail(400, -32602, 'Invalid params: missing _meta keys');
    if (req.headers['mcp-method'] !== method) return fail(400, -32020, 'Mcp-Method header mismatch');
    const named = NAMED[method];
    if (named && req.headers['mcp-name'] !== params[named]) return fail(400, -32020, 'Mcp-Name header mismatch');
    const done = (result: Record<string, unknown>) =>
      send(200, {
        jsonrpc: '2.0',
        id,
        result: {
          resultType: 'complete',
          ...(CACHEABLE.has(method) ? { ttlMs: 0, cacheScope: 'private' } : {}),
          ...result,
        },
      });
    switch (method) {
      case 'server/discover':
        return done({
          supportedVersions: [VERSION],
          capabilities: { tools: { listChanged: true }, resources: { subscribe: true }, prompts: {}, logging: {} },
          instructions: 'a 2026-07-28-only test server',
          ttlMs: 0,
          cacheScope: 'private',
          _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'stateless-test', version: '1.0.0' } },
        });
      case 'tools/list':
        return done({ tools: TOOLS });
      case 'resources/list':
        return done({ resources: [{ uri: 'test://doc', name: 'doc' }] });
      case 'resources/read':
        return done({ contents: [{ uri: params.uri, text: `contents of ${params.uri}` }] });
      case 'prompts/list':
        return done({ prompts: [{ name: 'greet', arguments: [{ name: 'who' }] }] });
      case 'prompts/get':
        return done({
          messages: [{ role: 'user', content: { type: 'text', text: `greet ${params.arguments?.who}` } }],
        });
      case 'subscriptions/listen': {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const l: Listener = { id, filter: params.notifications ?? {}, res };
        const ack = () => {
          if (!res.writableEnded) notify(l, 'notifications/subscriptions/acknowledged', { notifications: l.filter });
        };
        if (held) held.push(ack);
        else ack();
        listeners.add(l);
        events.emit('listeners', listeners.size);
        res.once('close', () => {
          listeners.delete(l);
          events.emit('listeners', listeners.size);
        });
        return;
      }
      case 'tools/call':
        return toolCall(params, id, res, done, () => listeners, notify, events);
      default:
        return fail(404, -32601, `Method not found: ${method}`);
    }
  });
  const bound = await listen(server, port);
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    seen,
    events,
    listeners: () => [...listeners].map((l) => l.filter),
    listenersAre: (expected) => {
      const matches = () => JSON.stringify([...listeners].map((l) => l.filter)) === JSON.stringify(expected);
      return new Promise((resolve) => {
        if (matches()) return resolve();
        const check = () => {
          if (!matches()) return;
          events.off('listeners', check);
          resolve();
        };
        events.on('listeners', check);
      });
    },
    dropListeners: () => {
      for (const l of listeners) l.res.end();
    },
    holdAcks: () => {
      held = [];
      return () => {
        const waiting = held ?? [];
        held = undefined;
        for (const ack of waiting) ack();
      };
    },
    close: () => shut(server),
  };
}

function toolCall(
  params: Record<string, any>,
  id: unknown,
  res: ServerResponse,
  done: (r: Record<string, unknown>) => void,
  listeners: () => Set<Listener>,
  notify: (l: Listener, method: string, params?: Record<string, unknown>) => void,
  events: EventEmitter,
) {
  const meta = params._meta ?? {};
  const args = params.arguments ?? {};
  const input = params.inputResponses ?? {};
  switch (params.name) {
    case 'echo':
      return done(text(String(args.text)));
    case 'whoami':
      return done(
        text(`${res.req.headers['x-forwarded-user']} via ${meta['io.modelcontextprotocol/clientInfo']?.name}`),
      );
    case 'progress': {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (m: unknown) => res.write(`data: ${JSON.stringify(m)}\n\n`);
      for (let i = 1; i <= 3; i++)
        event({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken: meta.progressToken, progress: i, total: 3 },
        });
      if (meta['io.modelcontextprotocol/logLevel'])
        event({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } });
      event({ jsonrpc: '2.0', id, result: { resultType: 'complete', ...text('done') } });
      return res.end();
    }
    case 'ask_name':
      if (!input.name)
        return done({
          resultType: 'input_required',
          inputRequests: {
            name: {
              method: 'elicitation/create',
              params: {
                mode: 'form',
                message: 'Your name?',
                requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
              },
            },
          },
          requestState: 'asked-once',
        });
      return done(text(`hello ${input.name.content?.name} (${params.requestState})`));
    case 'summarize':
      if (!input.summary)
        return done({
          resultType: 'input_required',
          inputRequests: {
            summary: {
              method: 'sampling/createMessage',
              params: { messages: [{ role: 'user', content: { type: 'text', text: 'summarize' } }], maxTokens: 10 },
            },
          },
        });
      return done(text(`summary: ${input.summary.content?.text}`));
    case 'roots': // a request for the client's roots
      if (!input.roots)
        return done({ resultType: 'input_required', inputRequests: { roots: { method: 'roots/list' } } });
      return done(text(input.roots.roots.map((r: { uri: string }) => r.uri).join(',')));
    case 'touch':
      for (const l of listeners()) {
        if (l.filter.resourceSubscriptions?.includes(args.uri))
          notify(l, 'notifications/resources/updated', { uri: args.uri });
        if (l.filter.toolsListChanged) notify(l, 'notifications/tools/list_changed');
      }
      return done(text('touched'));
    case 'hang': // answers never; tells when the caller went away
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      events.emit('hanging');
      res.once('close', () => events.emit('hang-closed'));
      return;
    default:
      return done({ ...text(`unknown tool ${params.name}`), isError: true });
  }
}

function pick(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const h of ['mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id', 'x-forwarded-user', 'x-api-key'])
    out[h] = req.headers[h] as string | undefined;
  return out;
}
