/**
 * How HTTP backends' JSON answers are passed on: a small one that arrived whole with its head
 * (even sent chunked, without a length) leaves in one body with its Content-Length; a large
 * one streams through whole, byte for byte (test/backends/http-streaming.test.ts: nothing
 * still arriving is held).
 */
import t from 'tap';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startProxy } from '../helpers/proxy.js';

const KEY = 'http-body-test-key';
const BIG = 'x'.repeat(1024 * 1024);

// A backend that writes its JSON in pieces without a Content-Length (chunked).
const backend = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const msg = JSON.parse(Buffer.concat(chunks).toString());
    if (msg.method === 'tools/list') return void res.writeHead(200, { 'content-type': 'application/json' }).end('null');
    const text = msg.params?.arguments?.size === 'big' ? BIG : 'small';
    const body = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text }] } });
    res.writeHead(200, { 'content-type': 'application/json' });
    for (let i = 0; i < body.length; i += 64 * 1024) res.write(body.slice(i, i + 64 * 1024));
    res.end();
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
t.teardown(() => backend.close());

const proxy = await startProxy({
  apiKeys: [{ name: 'tester', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'tester' }],
  backends: [
    {
      name: 'chunky',
      default: true,
      http: { url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/mcp` },
      tools: [{ match: '*', allow: { apiKeys: ['tester'] } }],
    },
  ],
});
t.teardown(() => proxy.close());

const call = (size: string) =>
  fetch(`${proxy.url}/mcp/chunky`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { size } },
    }),
  });

t.test('a small chunked JSON answer gets a Content-Length', async (t) => {
  const res = await call('small');
  t.equal(res.status, 200);
  const text = await res.text();
  t.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)));
  t.equal(JSON.parse(text).result.content[0].text, 'small');
});

t.test('a 1 MiB JSON answer streams through whole', async (t) => {
  const res = await call('big');
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-length'), null, 'streamed, not buffered');
  const body = (await res.json()) as any;
  t.equal(body.result.content[0].text.length, BIG.length);
  t.equal(body.result.content[0].text, BIG);
});

t.test('a backend answering a filtered list with `null` gets it passed on (no 500)', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/chunky`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(res.status, 200);
  t.equal(await res.text(), 'null');
});
