/**
 * Policy-filtered lists answered as SSE: the proxy rewrites each event, and must keep a
 * UTF-8 character the backend's chunks split in two whole, and read every line end the SSE
 * spec allows (CRLF, LF and a lone CR).
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { apiKey } from '../helpers/hostile.js';
import { startProxy } from '../helpers/proxy.js';
import { MCP_ACCEPT, rpc } from '../helpers/session-client.js';

const tools = [
  { name: 'café', description: 'crème brûlée — naïve', inputSchema: { type: 'object' } },
  { name: 'delete_all', description: 'filtered out', inputSchema: { type: 'object' } },
];

/** The SSE answer to tools/list (id 1), with the line end given, cut in two in the middle of a two-byte character. */
function sseAnswer(eol: string): [Buffer, Buffer] {
  const data = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools } });
  const bytes = Buffer.from(
    `: keep-alive${eol}retry: 1500${eol}event: message${eol}id: ev-1${eol}data: ${data}${eol}${eol}`,
  );
  const cut = bytes.indexOf(Buffer.from('é')) + 1;
  return [bytes.subarray(0, cut), bytes.subarray(cut)];
}

// A real backend answering with SSE in two writes, the second after the proxy has read the first.
const backend = http.createServer((req, res) => {
  req.resume().on('end', () => {
    const [head, tail] = sseAnswer(decodeURIComponent(req.url!.split('eol=')[1]!));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(head, () => setTimeout(() => res.end(tail), 50)); // two TCP segments, not one
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
t.teardown(() => backend.close());
const upstream = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

const key = apiKey('sse', 'sse-user');
const eols = { CRLF: '\r\n', LF: '\n', CR: '\r' };
const proxy = await startProxy({
  apiKeys: [key.config],
  backends: Object.entries(eols).map(([name, eol]) => ({
    name: name.toLowerCase(),
    http: { url: `${upstream}/mcp?eol=${encodeURIComponent(eol)}` },
    tools: [{ match: 'delete_*', deny: true }, { match: '*' }],
  })),
});
t.teardown(() => proxy.close());

for (const [name] of Object.entries(eols)) {
  t.test(`${name} line ends, a character split across chunks: the filtered list arrives whole`, async (t) => {
    const res = await fetch(`${proxy.url}/mcp/${name.toLowerCase()}`, {
      method: 'POST',
      headers: { ...key.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
      body: rpc('tools/list'),
    });
    t.equal(res.status, 200);
    const text = await res.text();
    t.notMatch(text, /\uFFFD/, 'no replacement characters');
    const events: EventSourceMessage[] = [];
    let retry: number | undefined;
    createParser({ onEvent: (e) => events.push(e), onRetry: (ms) => (retry = ms) }).feed(text);
    t.equal(events.length, 1, 'one event');
    t.equal(events[0]!.event, 'message');
    t.equal(events[0]!.id, 'ev-1', 'the event id is kept');
    t.equal(retry, 1500, 'the retry field is kept');
    const listed = JSON.parse(events[0]!.data).result.tools;
    t.same(listed, [tools[0]], 'the denied tool is filtered, the other one is intact');
  });
}
