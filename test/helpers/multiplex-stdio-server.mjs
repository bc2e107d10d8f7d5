#!/usr/bin/env node
// A stdio MCP server for tests of one child shared by several sessions. It records every
// message it receives (tool `seen`), and sends on demand what a session cannot ask for
// itself: logs at a level, resource updates, sampling / elicitation / roots requests, and
// work that goes on after its request was cancelled (`hold` until `release`).
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const REQUESTS = {
  'sampling/createMessage': [
    { messages: [{ role: 'user', content: { type: 'text', text: 'hello?' } }], maxTokens: 10 },
    CreateMessageResultSchema,
  ],
  'elicitation/create': [
    { message: 'your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } },
    ElicitResultSchema,
  ],
  'roots/list': [{}, ListRootsResultSchema],
};

const received = [];
let level;
const held = new Map();
const server = new McpServer(
  { name: 'multiplex-stdio-server', version: '1' },
  { capabilities: { logging: {}, resources: { subscribe: true } } },
);
const text = (t, structured) => ({
  content: [{ type: 'text', text: t }],
  ...(structured ? { structuredContent: structured } : {}),
});

/** Sends a server→client request (cancelled after `timeoutMs`); its outcome as text. */
async function ask(method, timeoutMs) {
  const [params, schema] = REQUESTS[method];
  try {
    const answer = await server.server.request({ method, params }, schema, { timeout: timeoutMs });
    return `answered: ${JSON.stringify(answer)}`;
  } catch (e) {
    return `refused: ${e.message}`;
  }
}

function log(lvl, data) {
  if (level === undefined || LEVELS.indexOf(lvl) >= LEVELS.indexOf(level))
    return server.server.notification({ method: 'notifications/message', params: { level: lvl, data } });
}

server.registerTool(
  'log',
  { inputSchema: { text: z.string(), level: z.string().default('info') } },
  async ({ text: t, level: lvl }) => {
    await log(lvl, t);
    return text('logged');
  },
);
server.registerTool('updated', { inputSchema: { uri: z.string() } }, async ({ uri }) => {
  await server.server.notification({ method: 'notifications/resources/updated', params: { uri } });
  return text('sent');
});
server.registerTool(
  'ask',
  { inputSchema: { method: z.string(), timeoutMs: z.number().optional() } },
  async ({ method, timeoutMs }) => text(await ask(method, timeoutMs)),
);
// Works on after a cancel, as a server that ignores cancellation would: once released, logs and asks for
// sampling. Progress 0 (with a progressToken) says it started.
server.registerTool('hold', { inputSchema: { key: z.string() } }, async ({ key }, extra) => {
  let release;
  const entry = { cancelled: false, released: new Promise((r) => (release = r)) };
  entry.release = release;
  entry.done = entry.released.then(async () => {
    await log('info', `late:${key}`);
    return ask('sampling/createMessage');
  });
  extra.signal.addEventListener('abort', () => (entry.cancelled = true));
  held.set(key, entry);
  const progressToken = extra._meta?.progressToken;
  if (progressToken !== undefined)
    await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 0 } });
  return text(await entry.done);
});
server.registerTool('release', { inputSchema: { key: z.string() } }, async ({ key }) => {
  const entry = held.get(key);
  entry.release();
  const outcome = await entry.done;
  return text(outcome, { cancelled: entry.cancelled, outcome });
});
server.registerTool('seen', { inputSchema: { method: z.string() } }, async ({ method }) => {
  const messages = received.filter((m) => (m.method ?? 'response') === method);
  return text(JSON.stringify(messages), { messages, level: level ?? null });
});
server.registerResource('note', 'test://note', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'note' }] }));
server.registerResource(
  'item',
  new ResourceTemplate('test://item/{id}', { list: undefined }),
  {},
  async (uri, { id }) => ({
    contents: [{ uri: uri.href, text: `item ${id}` }],
  }),
);
server.registerTool('list_changed', {}, async () => {
  server.sendToolListChanged();
  return text('sent');
});
server.server.setRequestHandler(SetLevelRequestSchema, async (req) => {
  level = req.params.level;
  return {};
});
server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));

const transport = new StdioServerTransport();
transport.onmessage = (m) => void received.push(m);
await server.connect(transport);
process.stdin.once('end', () => server.close().finally(() => process.exit(0)));
