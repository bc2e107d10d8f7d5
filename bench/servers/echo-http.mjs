// Raw HTTP MCP echo backend (node:http). The answer's shape follows the path, so one process
// serves every shape the bench compares:
//   /mcp          JSON with Content-Length (one write)
//   /chunked/mcp  JSON chunked: writeHead, then end(body), as SDK-built servers answer
//   /sse/mcp      every request answered as an SSE stream of one event
// `tools/call stream` answers as SSE on every path (a progress event at once, the result 5 ms later).
// With --sdk, /sdk/mcp is an MCP SDK server (echo-sdk.mjs). Run as a script it prints
// `listening <port>` once ready: node echo-http.mjs [--sdk] [port]. Tests import createEchoServer().
import http from 'node:http';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { answer, newSessionId } from './echo-logic.mjs';

const sseEvent = (msg) => `event: message\ndata: ${JSON.stringify(msg)}\n\n`;

/** The echo server's request handler, answering in the shape its path names. */
export function echoHandler(req, res) {
  if (req.method === 'DELETE') return void res.writeHead(200).end();
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST, DELETE' }).end();
  const shape = req.url.startsWith('/chunked/') ? 'chunked' : req.url.startsWith('/sse/') ? 'sse' : 'length';
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      return void res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}');
    }
    const reply = answer(msg);
    if (!reply) return void res.writeHead(202).end();
    const session = msg?.method === 'initialize' ? { 'mcp-session-id': newSessionId() } : {};
    if (msg?.method === 'tools/call' && msg.params?.name === 'stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...session });
      res.write(
        sseEvent({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }),
      );
      setTimeout(() => res.end(sseEvent(reply)), 5);
      return;
    }
    if (shape === 'sse')
      return void res
        .writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...session })
        .end(sseEvent(reply));
    const body = JSON.stringify(reply);
    if (shape === 'chunked')
      return void res.writeHead(200, { 'content-type': 'application/json', ...session }).end(body);
    res
      .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...session })
      .end(body);
  });
}

export const createEchoServer = () => http.createServer(echoHandler);

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const sdk = args.includes('--sdk') ? (await import('./echo-sdk.mjs')).createSdkHandler() : undefined;
  const server = http.createServer((req, res) =>
    sdk && req.url.startsWith('/sdk/') ? sdk(req, res) : echoHandler(req, res),
  );
  server.keepAliveTimeout = 60_000;
  server.listen(Number(args.find((a) => !a.startsWith('--')) ?? 0), '127.0.0.1', () =>
    console.log(`listening ${server.address().port}`),
  );
  process.on('SIGTERM', () => process.exit(0));
}
