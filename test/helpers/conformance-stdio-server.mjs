#!/usr/bin/env node
// A 2025 MCP server over stdio (the SDK's McpServer) with the diagnostic tools the conformance
// suite's `server-stateless` and `caching` scenarios call: sampling and elicitation from a tool,
// a log message, and list changes. Behind the proxy's version bridge it meets 2026-07-28 clients.
// With PORT set it serves streamable HTTP instead (one McpServer per session; prints its URL).
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const text = (t) => ({ content: [{ type: 'text', text: t }] });

function build() {
  const server = new McpServer(
    { name: 'conformance-stdio-server', version: '1.0.0' },
    { capabilities: { logging: {}, resources: { subscribe: true, listChanged: true } } },
  );

  server.registerTool(
    'echo',
    { description: 'Echoes its text.', inputSchema: { text: z.string() } },
    async ({ text: t }) => text(t),
  );
  server.registerTool(
    'test_missing_capability',
    { description: 'Asks the client to sample (needs sampling).' },
    async () => {
      const r = await server.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: 'hello' } }],
        maxTokens: 10,
      });
      return text(`sampled: ${r.content.type === 'text' ? r.content.text : r.content.type}`);
    },
  );
  const askName = async () => {
    const r = await server.server.elicitInput({
      message: 'What is your name?',
      requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    });
    return text(r.action === 'accept' ? `Hello, ${r.content?.name}!` : `no name (${r.action})`);
  };
  server.registerTool(
    'test_streaming_elicitation',
    { description: 'Asks the client for a name (elicitation).' },
    askName,
  );
  server.registerTool('ask_twice', { description: 'Elicits twice, then greets both.' }, async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    const a = await server.server.elicitInput({ message: 'First name?', requestedSchema: schema });
    const b = await server.server.elicitInput({ message: 'Second name?', requestedSchema: schema });
    return text(`${a.content?.name} and ${b.content?.name}`);
  });
  server.registerTool('test_logging_tool', { description: 'Logs at info and error, then answers.' }, async () => {
    await server.sendLoggingMessage({ level: 'info', data: 'an info log' });
    await server.sendLoggingMessage({ level: 'error', data: 'an error log' });
    return text('logged');
  });
  let added = 0;
  server.registerTool('test_trigger_tool_change', { description: 'Adds a tool (tools/list_changed).' }, async () => {
    server.registerTool(`added_${++added}`, { description: 'Added at run time.' }, async () => text('added'));
    return text(`added_${added}`);
  });
  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Adds a prompt (prompts/list_changed).' },
    async () => {
      server.registerPrompt(`added_prompt_${++added}`, { description: 'Added at run time.' }, async () => ({
        messages: [{ role: 'user', content: { type: 'text', text: 'added' } }],
      }));
      return text('prompt added');
    },
  );
  server.registerTool('touch_resource', { description: 'Says the static resource changed.' }, async () => {
    await server.server.sendResourceUpdated({ uri: 'test://static' });
    return text('touched');
  });
  server.registerPrompt(
    'greeting',
    { description: 'A greeting.', argsSchema: { name: z.string() } },
    async ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}` } }],
    }),
  );
  server.registerResource('static', 'test://static', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'static text' }],
  }));
  server.registerResource(
    'item',
    new ResourceTemplate('test://items/{id}', { list: undefined }),
    { mimeType: 'text/plain' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `item ${id}` }] }),
  );
  server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
  return server;
}

if (process.env.PORT === undefined) await build().connect(new StdioServerTransport());
else {
  const { createServer } = await import('node:http');
  const { randomUUID } = await import('node:crypto');
  const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!transport && sid !== undefined) return void res.writeHead(404).end();
    if (!transport) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, created),
      });
      created.onclose = () => sessions.delete(created.sessionId);
      await build().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  });
  http.listen(Number(process.env.PORT), '127.0.0.1', () =>
    console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`),
  );
}
