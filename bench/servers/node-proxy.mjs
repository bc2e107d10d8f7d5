// Baseline: the least a Node proxy does (node:http server, undici Pool, the request body read
// and parsed as JSON, as any policy needs it; no auth, no logging). The floor Node sets.
// Usage: node node-proxy.mjs <upstream origin> [port]; prints `listening <port>`.
import http from 'node:http';
import { Pool } from 'undici';

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'host',
]);
const pool = new Pool(process.argv[2], { connections: 128, keepAliveTimeout: 30_000 });
const pick = (headers) => {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
};

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    if (body.length) JSON.parse(body.toString());
    const up = await pool.request({
      method: req.method,
      path: req.url,
      headers: pick(req.headers),
      body: body.length ? body : undefined,
    });
    res.writeHead(up.statusCode, pick(up.headers));
    if (String(up.headers['content-type']).startsWith('text/event-stream')) res.flushHeaders();
    up.body.pipe(res);
  } catch (e) {
    if (!res.headersSent) res.writeHead(502).end(String(e?.message ?? e));
    else res.destroy();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
