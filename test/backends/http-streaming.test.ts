/**
 * Nothing an HTTP backend is still sending is held by the proxy: a JSON answer written in
 * pieces reaches the client piece by piece, a 2026-07-28 `subscriptions/listen` stream its
 * first event while it stays open. The one answer held whole is a JSON list that policy
 * filters (it is rewritten as one document).
 */
import t from 'tap';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startProxy } from '../helpers/proxy.js';
import { MCP_ACCEPT } from '../helpers/session-client.js';

const KEY = 'http-streaming-test-key';
const V = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const PREFIX = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"';

/** Held answers, released by the test: each resolves when the test says the backend may finish. */
const gates: Array<() => void> = [];
const gate = () => new Promise<void>((resolve) => gates.push(resolve));
const release = () => {
  for (const g of gates.splice(0)) g();
};

// A real HTTP server answering as streamable HTTP servers do, slowly: the first part at once,
// the rest when the test releases it.
const backend = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const msg = JSON.parse(Buffer.concat(chunks).toString());
    if (msg.method === 'subscriptions/listen') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const ack = { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: {} };
      res.write(`event: message\ndata: ${JSON.stringify(ack)}\n\n`);
      await gate();
      const changed = { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: {} };
      return void res.end(`event: message\ndata: ${JSON.stringify(changed)}\n\n`);
    }
    if (msg.method === 'tools/list') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"open","inputSchema":{"type":"object"}},');
      await gate();
      return void res.end('{"name":"secret","inputSchema":{"type":"object"}}]}}');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(PREFIX);
    await gate();
    res.end('done"}]}}');
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
t.teardown(() => backend.close());

const proxy = await startProxy({
  apiKeys: [{ name: 'tester', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'tester' }],
  backends: [
    {
      name: 'slow',
      default: true,
      http: { url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/mcp` },
      allow: { apiKeys: ['tester'] },
      tools: [
        { match: 'secret', deny: true },
        { match: '*', allow: { apiKeys: ['tester'] } },
      ],
    },
  ],
});
t.teardown(() => proxy.close());

const post = (method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}/mcp/slow`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });

/** `p`, or a failure (rather than a hung suite) when the proxy holds what it should pass on for 5 s. */
async function within<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('held: nothing reached the client')), 5000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next bytes of a body. */
async function nextText(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const r = await within(reader.read());
  return r.done ? '' : Buffer.from(r.value).toString();
}

async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let out = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) out += Buffer.from(r.value).toString();
  return out;
}

t.test('a JSON answer still arriving reaches the client as it comes', async (t) => {
  const res = await within(post('tools/call', { name: 'wait', arguments: {} }));
  t.teardown(release);
  t.equal(res.status, 200, 'the head came before the body ended');
  t.equal(res.headers.get('content-length'), null, 'streamed, not buffered');
  const reader = res.body!.getReader();
  let seen = '';
  while (seen.length < PREFIX.length) seen += await nextText(reader);
  t.equal(seen, PREFIX, 'the first part, while the backend still holds the rest');
  t.equal(gates.length, 1, 'the backend has not finished');
  release();
  const body = JSON.parse(seen + (await rest(reader)));
  t.equal(body.result.content[0].text, 'done');
});

t.test('a 2026-07-28 subscriptions/listen stream: the acknowledgement arrives while it stays open', async (t) => {
  const res = await within(
    post(
      'subscriptions/listen',
      { notifications: { toolsListChanged: true }, _meta: META },
      { 'mcp-protocol-version': V, 'mcp-method': 'subscriptions/listen' },
    ),
  );
  t.teardown(release);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const reader = res.body!.getReader();
  let seen = '';
  while (!seen.includes('\n\n')) seen += await nextText(reader);
  t.match(seen, /notifications\/subscriptions\/acknowledged/);
  t.equal(gates.length, 1, 'the stream is still open upstream');
  release();
  t.match(await rest(reader), /notifications\/tools\/list_changed/);
});

t.test('a JSON list policy filters is rewritten whole (held until it ends, then filtered)', async (t) => {
  const pending = post('tools/list', {});
  // The backend has sent half the list; the proxy waits for the rest before rewriting.
  while (gates.length === 0) await new Promise((r) => setImmediate(r));
  release();
  const res = await pending;
  t.equal(res.status, 200);
  const body = (await res.json()) as any;
  t.same(
    body.result.tools.map((x: { name: string }) => x.name),
    ['open'],
  );
});
