// Raw HTTP MCP echo backend (node:http, JSON answers; `tools/call stream` answers as SSE).
// Run as a script it prints `listening <port>` once ready: node echo-http.mjs [port].
// Tests import createEchoServer().
import http from 'node:http';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { answer, newSessionId } from './echo-logic.mjs';

export const createEchoServer = () => http.createServer((req, res) => {
  if (req.method === 'DELETE') return void res.writeHead(200).end();
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST, DELETE' }).end();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}');
    }
    const reply = answer(msg);
    if (!reply) return void res.writeHead(202).end();
    const headers = { 'content-type': 'application/json' };
    if (msg?.method === 'initialize') headers['mcp-session-id'] = newSessionId();
    if (msg?.method === 'tools/call' && msg.params?.name === 'stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } })}\n\n`);
      setTimeout(() => res.end(`event: message\ndata: ${JSON.stringify(reply)}\n\n`), 5);
      return;
    }
    const body = JSON.stringify(reply);
    headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(200, headers).end(body);
  });
});
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const server = createEchoServer();
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}
