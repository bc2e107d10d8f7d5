// An MCP server as most are written: the TypeScript SDK's McpServer behind its
// StreamableHTTPServerTransport, stateful (one transport per session), answers as SSE (the
// SDK's default). One tool, `echo`, returning its arguments as text, like echo-logic.mjs.
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function newServer() {
  const server = new McpServer({ name: 'bench-echo-sdk', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns its arguments', inputSchema: { text: z.string().optional() } },
    async (args) => ({ content: [{ type: 'text', text: JSON.stringify(args) }] }),
  );
  return server;
}

/** A node:http handler for the SDK server: sessions by Mcp-Session-Id, a new one on initialize. */
export function createSdkHandler() {
  const transports = new Map();
  return async (req, res) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? transports.get(id) : undefined;
    if (!transport) {
      if (id !== undefined)
        return void res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"session not found"}}');
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (sid) => transports.set(sid, transport),
      });
      transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
      await newServer().connect(transport);
    }
    await transport.handleRequest(req, res);
  };
}
