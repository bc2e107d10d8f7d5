/**
 * The streamable HTTP side of stdio sessions (src/backends/stdio/http-session.ts), spoken to
 * with plain fetch so every status, header and framing choice is visible: JSON when nothing
 * but the answer comes back, SSE as soon as progress or logging arrives for the call (or when
 * the client accepts only SSE), 202 for notifications, one GET stream per session, DELETE.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { startProxy } from '../helpers/proxy.js';
import { DEMO_STDIO } from '../helpers/stdio-stack.js';

const KEY = 'http-session-test-key';
const proxy = await startProxy({
  apiKeys: [{ name: 'tester', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'tester' }],
  backends: [
    { name: 'legacy', default: true, stdio: { command: process.execPath, args: [DEMO_STDIO], isolation: 'shared' } },
  ],
});
t.teardown(() => proxy.close());
const url = `${proxy.url}/mcp/legacy`;
const BOTH = 'application/json, text/event-stream';

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', accept: BOTH, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function sseEvents(text: string): any[] {
  return text
    .split('\n\n')
    .filter((e) => e.includes('data:'))
    .map((e) =>
      JSON.parse(
        e
          .split('\n')
          .find((l) => l.startsWith('data:'))!
          .slice(5),
      ),
    );
}

const init = await post({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});
const session = init.headers.get('mcp-session-id')!;
const initBody = (await init.json()) as any;

t.test('initialize answers JSON with a session id; notifications get 202', async (t) => {
  t.equal(init.status, 200);
  t.match(init.headers.get('content-type'), /^application\/json/);
  t.match(session, /^[0-9a-f-]{36}$/);
  t.equal(initBody.id, 0);
  t.ok(initBody.result.serverInfo, 'the child answered initialize');
  const note = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': session });
  t.equal(note.status, 202);
  t.equal(await note.text(), '');
});

t.test('a plain call is answered as JSON, in one body with its length', async (t) => {
  const res = await post(
    { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
    { 'mcp-session-id': session },
  );
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/json/);
  t.ok(res.headers.get('content-length'), 'not chunked');
  const body = (await res.json()) as any;
  t.equal(body.id, 'a');
  t.match(JSON.stringify(body.result.content), /hi/);
});

t.test('a call that streams progress switches to SSE: notifications first, the answer last', async (t) => {
  const res = await post(
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'slow_count', arguments: { n: 3, delayMs: 5 }, _meta: { progressToken: 'p1' } },
    },
    { 'mcp-session-id': session },
  );
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  const events = sseEvents(await res.text());
  const progress = events.filter((e) => e.method === 'notifications/progress');
  t.same(
    progress.map((e) => e.params.progress),
    [1, 2, 3],
    'every progress event, in order',
  );
  t.ok(
    progress.every((e) => e.params.progressToken === 'p1'),
    "the client's own progress token",
  );
  t.ok(
    events.some((e) => e.method === 'notifications/message'),
    'logging messages too',
  );
  t.equal(events.at(-1).id, 7, 'the answer is the last event');
  t.match(events.at(-1).result.content[0].text, /counted to 3/);
});

t.test('a client that accepts only SSE gets SSE; a batch gets an array', async (t) => {
  const sse = await post(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } },
    { 'mcp-session-id': session, accept: 'text/event-stream' },
  );
  t.match(sse.headers.get('content-type'), /^text\/event-stream/);
  t.equal(sseEvents(await sse.text())[0].id, 1);
  const batch = await post(
    [
      { jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'echo', arguments: { text: 'one' } } },
      { jsonrpc: '2.0', id: 11, method: 'ping' },
    ],
    { 'mcp-session-id': session },
  );
  const answers = (await batch.json()) as Array<{ id: number }>;
  t.same(answers.map((a) => a.id).sort(), [10, 11]);
});

t.test('bad input: not JSON-RPC → 400, GET without SSE → 406, a second GET stream → 409', async (t) => {
  const bad = await post({ hello: 'world' }, { 'mcp-session-id': session });
  t.equal(bad.status, 400);
  t.match(JSON.stringify(await bad.json()), /invalid JSON-RPC: jsonrpc must be \\"2.0\\"/);
  const noSse = await fetch(url, {
    headers: { 'x-api-key': KEY, 'mcp-session-id': session, accept: 'application/json' },
  });
  t.equal(noSse.status, 406);
  await noSse.text();
  const ac = new AbortController();
  const first = await fetch(url, {
    headers: { 'x-api-key': KEY, 'mcp-session-id': session, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  t.equal(first.status, 200);
  t.match(first.headers.get('content-type'), /^text\/event-stream/);
  const second = await fetch(url, {
    headers: { 'x-api-key': KEY, 'mcp-session-id': session, accept: 'text/event-stream' },
  });
  t.equal(second.status, 409);
  await second.text();
  ac.abort();
});

t.test('DELETE ends the session: later calls on it are 404', async (t) => {
  const other = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  const id = other.headers.get('mcp-session-id')!;
  await other.text();
  t.not(id, session, 'a new session id per initialize');
  const del = await fetch(url, { method: 'DELETE', headers: { 'x-api-key': KEY, 'mcp-session-id': id } });
  t.equal(del.status, 200);
  const after = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': id });
  t.equal(after.status, 404);
  await after.text();
});
