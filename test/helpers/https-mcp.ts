/**
 * An MCP server (the SDK's, stateless streamable HTTP) on `https.createServer` with the given TLS
 * options; it records the CN of the client certificate each request came with (`peers`), and its
 * `whoami` tool answers that CN.
 */
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface HttpsMcp {
  url: string;
  port: number;
  /** The client certificate CN of each request ('' when none). */
  peers: string[];
  close(): Promise<void>;
}

const peerCn = (req: IncomingMessage) => {
  const cert = (req.socket as TLSSocket).getPeerCertificate?.();
  return typeof cert?.subject?.CN === 'string' ? cert.subject.CN : '';
};

export async function startHttpsMcp(tls: ServerOptions): Promise<HttpsMcp> {
  const peers: string[] = [];
  const server = createServer(tls, async (req, res) => {
    const cn = peerCn(req);
    peers.push(cn);
    const mcp = new McpServer({ name: 'https-backend', version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'the client certificate CN' }, async () => ({
      content: [{ type: 'text', text: cn || '(no client certificate)' }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  // TLS failures at the server (the client refused our certificate) are the test's point, not errors.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/mcp`,
    port,
    peers,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
