/**
 * An MCP server (the SDK's, stateless streamable HTTP; with `sse`, the 2024-11-05 HTTP+SSE transport
 * at /sse and /messages) on `https.createServer` with the given TLS options; it records the CN of the
 * client certificate each request came with (`peers`), and its `whoami` tool answers that CN.
 */
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { clientCertRequired, type Issued, type TestCa } from './test-ca.js';

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

function whoamiServer(cn: string): McpServer {
  const mcp = new McpServer({ name: 'https-backend', version: '1.0.0' });
  mcp.registerTool('whoami', { description: 'the client certificate CN' }, async () => ({
    content: [{ type: 'text', text: cn || '(no client certificate)' }],
  }));
  return mcp;
}

export async function startHttpsMcp(tls: ServerOptions, opts: { sse?: boolean } = {}): Promise<HttpsMcp> {
  const peers: string[] = [];
  const sse = new Map<string, SSEServerTransport>();
  const server = createServer(tls, async (req, res) => {
    const cn = peerCn(req);
    peers.push(cn);
    const url = new URL(req.url ?? '/', 'https://x');
    if (opts.sse && req.method === 'GET' && url.pathname === '/sse') {
      const transport = new SSEServerTransport('/messages', res);
      sse.set(transport.sessionId, transport);
      res.on('close', () => sse.delete(transport.sessionId));
      return void (await whoamiServer(cn).connect(transport));
    }
    if (opts.sse && req.method === 'POST' && url.pathname === '/messages') {
      const transport = sse.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) return void res.writeHead(404).end();
      return void (await transport.handlePostMessage(req, res));
    }
    if (opts.sse) return void res.writeHead(405).end();
    const mcp = whoamiServer(cn);
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
    url: `https://127.0.0.1:${port}/${opts.sse ? 'sse' : 'mcp'}`,
    port,
    peers,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Two of them at 127.0.0.1 with a certificate `pki` signed (`serverCert`): `plain`, and `mtls`
 * demanding a client certificate `pki` signed.
 */
export async function startCaSignedMcps(pki: TestCa): Promise<{ serverCert: Issued; plain: HttpsMcp; mtls: HttpsMcp }> {
  const serverCert = pki.issue('127.0.0.1', { san: 'IP:127.0.0.1' });
  const plain = await startHttpsMcp({ key: serverCert.key, cert: serverCert.cert });
  const mtls = await startHttpsMcp(clientCertRequired(serverCert, pki));
  return { serverCert, plain, mtls };
}
