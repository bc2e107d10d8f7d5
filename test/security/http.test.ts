// Hostile HTTP at the front door, sent byte for byte: request smuggling, CRLF injection, path
// traversal between backends, oversized and stalled bodies, header floods, odd methods. Each
// case asserts the exact answer and what the two recording backends received: alice may use
// backend `a` only, so nothing she sends may ever reach `b`, nor any path of `a` but its URL.
import t, { type Test } from 'tap';
import net from 'node:net';
import { apiKey, portOf, rawExchange, startRecorder, verbatim, type Recorded } from '../helpers/hostile.js';
import { startProxy } from '../helpers/proxy.js';

const a = await startRecorder();
const b = await startRecorder();
const alice = apiKey('alice', 'alice');
const bob = apiKey('bob', 'bob');
const A_PATH = '/mcp/a-only?k=1';
const proxy = await startProxy({
  server: { bodyLimit: 16 * 1024, requestTimeout: '1s', logLevel: 'warn' },
  apiKeys: [alice.config, bob.config],
  backends: [
    { name: 'a', http: { url: `${new URL(a.url).origin}${A_PATH}` }, allow: { apiKeys: ['alice'] } },
    { name: 'b', http: { url: b.url }, allow: { apiKeys: ['bob'] } },
  ],
});
t.teardown(async () => {
  await proxy.close();
  await Promise.all([a.close(), b.close()]);
});
const port = portOf(proxy.url);

const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
const HOST = `Host: 127.0.0.1:${port}\r\n`;
const AUTH = `${HOST}X-API-Key: ${alice.headers['x-api-key']}\r\nAccept: application/json, text/event-stream\r\n`;
const JSON_TYPE = 'Content-Type: application/json\r\n';
/** A raw request: `head` is extra header lines, each ending in CRLF. */
const raw = (head: string, body = '', target = '/mcp/a', method = 'POST') =>
  `${method} ${target} HTTP/1.1\r\n${AUTH}${JSON_TYPE}${head}\r\n${body}`;
const chunked = (body: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const sized = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n`;

// What Fastify's clientError handler writes when Node's parser refuses a request (the socket is then closed).
const PARSER = {
  400: '{"error":"Bad Request","message":"Client Error","statusCode":400}',
  408: '{"error":"Request Timeout","message":"Client Timeout","statusCode":408}',
  431:
    '{"error":"Request Header Fields Too Large",' +
    '"message":"Exceeded maximum allowed HTTP header size","statusCode":431}',
};
const rpcError = (code: number, message: string, name: string) => ({
  jsonrpc: '2.0',
  id: null,
  error: { code, message, data: { code: name } },
});
const NOT_FOUND = rpcError(-32001, 'not found', 'NOT_FOUND');
const unknownBackend = (name: string) => rpcError(-32001, `unknown backend "${name}"`, 'BACKEND_NOT_FOUND');

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Every response (with a Content-Length, as all of the proxy's here are) in a raw response stream. */
function responses(stream: string): RawResponse[] {
  const out: RawResponse[] = [];
  for (let rest = stream; rest.startsWith('HTTP/1.1 '); ) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** What each backend received while `fn` ran. */
async function watch<T>(fn: () => Promise<T>): Promise<{ result: T; atA: Recorded[]; atB: Recorded[] }> {
  const [na, nb] = [a.seen.length, b.seen.length];
  const result = await fn();
  return { result, atA: a.seen.slice(na), atB: b.seen.slice(nb) };
}

const send = (bytes: string, waitMs = 600) =>
  watch(async () => responses(await rawExchange(port, Buffer.from(bytes, 'latin1'), waitMs)));

/** Node's parser refuses the bytes: one 400 (or `status`), the connection closed, no backend called. */
async function refusedByParser(t: Test, bytes: string, status: 400 | 431 = 400) {
  const { result, atA, atB } = await send(bytes);
  t.same(
    result.map((r) => r.status),
    [status],
    `exactly one ${status}, nothing after it`,
  );
  t.equal(result[0]?.body, PARSER[status]);
  t.same(atA, [], 'backend a saw nothing');
  t.same(atB, [], 'backend b saw nothing');
}

/**
 * Backend a received exactly one well-formed request: POST to its URL, this body, framed by a correct Content-Length.
 */
function oneCleanRequest(t: Test, atA: Recorded[], body: string) {
  t.equal(atA.length, 1, 'backend a saw exactly one request');
  t.match(atA[0], {
    method: 'POST',
    url: A_PATH,
    body,
    headers: { 'content-length': String(Buffer.byteLength(body)) },
  });
  t.notOk(atA[0]?.headers['transfer-encoding'], 'no Transfer-Encoding passed on');
}

// ---- request smuggling ---------------------------------------------------------------------

const SMUGGLED = `POST /mcp/b HTTP/1.1\r\n${HOST}${JSON_TYPE}${sized(PING)}\r\n${PING}`;
t.test('smuggling: Content-Length and Transfer-Encoding together (CL.TE) are refused', (t) =>
  refusedByParser(t, raw(`Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`, chunked(PING) + SMUGGLED)),
);
t.test('smuggling: two different Content-Length headers', (t) =>
  refusedByParser(t, raw(`${sized(PING)}Content-Length: 5\r\n`, PING)),
);
t.test('smuggling: two equal Content-Length headers are refused too', (t) =>
  refusedByParser(t, raw(sized(PING) + sized(PING), PING)),
);
t.test('smuggling: Transfer-Encoding: chunked, identity (chunked not last)', (t) =>
  refusedByParser(t, raw('Transfer-Encoding: chunked, identity\r\n', chunked(PING))),
);
t.test('smuggling: Transfer-Encoding with a space before the colon', (t) =>
  refusedByParser(t, raw('Transfer-Encoding : chunked\r\n', chunked(PING))),
);
t.test('smuggling: Transfer-Encoding folded onto a continuation line (obs-fold)', (t) =>
  refusedByParser(t, raw('Transfer-Encoding:\r\n chunked\r\n', chunked(PING))),
);
t.test('smuggling: Transfer-Encoding with a vertical tab before chunked', (t) =>
  refusedByParser(t, raw('Transfer-Encoding: \x0bchunked\r\n', chunked(PING))),
);

t.test(
  'smuggling: a horizontal tab before chunked is legal whitespace: one request, re-framed with a Content-Length',
  async (t) => {
    const { result, atA, atB } = await send(raw('Transfer-Encoding:\tchunked\r\n', chunked(PING)));
    t.same(
      result.map((r) => r.status),
      [200],
    );
    oneCleanRequest(t, atA, PING);
    t.same(atB, []);
  },
);

t.test(
  'smuggling: a request after the last chunk is a request of its own, judged on its own (401), never forwarded',
  async (t) => {
    const { result, atA, atB } = await send(raw('Transfer-Encoding: chunked\r\n', chunked(PING) + SMUGGLED));
    t.same(
      result.map((r) => r.status),
      [200, 401],
      'the smuggled request got its own answer: unauthenticated',
    );
    oneCleanRequest(t, atA, PING);
    t.same(atB, [], 'backend b never saw the smuggled request');
  },
);

t.test('smuggling: a whole request inside a JSON string is data in one request', async (t) => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { note: `\r\n\r\n${SMUGGLED}` } });
  const { result, atA, atB } = await send(raw(sized(body), body));
  t.same(
    result.map((r) => r.status),
    [200],
  );
  oneCleanRequest(t, atA, body);
  t.same(atB, []);
});

// ---- CRLF injection ------------------------------------------------------------------------

t.test('CRLF: %0d%0a in the path is a backend name that does not exist, never a header', async (t) => {
  const { result, atA, atB } = await send(raw(sized(PING), PING, '/mcp/a%0d%0aX-Injected:%20yes'));
  t.same(
    result.map((r) => r.status),
    [404],
  );
  t.same(JSON.parse(result[0]!.body), unknownBackend('a\r\nX-Injected: yes'), 'the name comes back JSON-escaped');
  t.notOk(result[0]!.headers['x-injected'], 'no header injected into the response');
  t.same([atA, atB], [[], []]);
});

t.test('CRLF: a bare CR inside a header value is refused by the parser', (t) =>
  refusedByParser(t, raw(`X-Custom: a\rX-Injected: yes\r\n${sized(PING)}`, PING)),
);
t.test('CRLF: a bare LF inside a header value is refused by the parser', (t) =>
  refusedByParser(t, raw(`X-Custom: a\nX-Injected: yes\r\n${sized(PING)}`, PING)),
);
t.test('CRLF: a raw CR in the request target is refused by the parser', (t) =>
  refusedByParser(t, raw(sized(PING), PING, '/mcp/a\rX-Injected: yes')),
);

t.test('CRLF: %0d%0a in a forwarded header value stays literal text at the backend', async (t) => {
  const { result, atA } = await send(raw(`X-Custom: a%0d%0aX-Injected: yes\r\n${sized(PING)}`, PING));
  t.same(
    result.map((r) => r.status),
    [200],
  );
  t.equal(atA.length, 1);
  t.equal(atA[0]!.headers['x-custom'], 'a%0d%0aX-Injected: yes');
  t.notOk('x-injected' in atA[0]!.headers, 'no header was created');
});

// ---- path traversal between backends -------------------------------------------------------

const asAlice = (path: string) =>
  watch(() =>
    verbatim(
      port,
      'POST',
      path,
      { ...alice.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      PING,
    ),
  );
const traversals: Array<[string, number, unknown]> = [
  ['/mcp/a/../b', 404, NOT_FOUND],
  ['/mcp/a/%2e%2e/b', 404, NOT_FOUND],
  ['/mcp/%2e%2e/b', 404, NOT_FOUND],
  ['/mcp//b', 404, NOT_FOUND],
  ['/mcp/./b', 404, NOT_FOUND],
  ['/mcp/a%2F..%2Fb', 404, unknownBackend('a/../b')],
  ['/mcp/a;b', 404, unknownBackend('a;b')],
  ['/mcp/a\\..\\b', 404, unknownBackend('a\\..\\b')],
  ['/mcp/b%00', 404, unknownBackend('b\u0000')],
  // Not an MCP path at all for the router or the error handler: the plain JSON 404.
  ['/mcp\\b', 404, { error: { code: 'NOT_FOUND', message: 'not found' } }],
  // The percent-encoded name of b decodes to b, whose allow list then refuses alice.
  [
    '/mcp/%62',
    403,
    { jsonrpc: '2.0', id: 1, error: { code: -32003, message: 'access denied: you may not use backend "b"' } },
  ],
];
for (const [path, status, body] of traversals) {
  t.test(`traversal: ${path} never reaches a backend`, async (t) => {
    const { result, atA, atB } = await asAlice(path);
    t.equal(result.status, status);
    t.same(JSON.parse(result.body), body);
    t.same([atA, atB], [[], []], 'neither backend saw anything');
  });
}

t.test('traversal: dot segments in the query reach a, at its configured URL only', async (t) => {
  const { result, atA, atB } = await asAlice('/mcp/a?x=/../b&y=%2e%2e');
  t.equal(result.status, 200);
  t.same(
    atA.map((r) => r.url),
    [A_PATH],
    "the client's path and query are not passed on",
  );
  t.same(atB, []);
});

t.test('control: bob reaches b (the refusals above are about alice, not a broken b)', async (t) => {
  const { result, atB } = await watch(() =>
    verbatim(
      port,
      'POST',
      '/mcp/b',
      { ...bob.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      PING,
    ),
  );
  t.equal(result.status, 200);
  t.same(
    atB.map((r) => [r.url, r.headers['x-forwarded-user']]),
    [['/mcp', 'bob']],
  );
});

// The absolute-form target names the host itself (RFC 9112 §3.2.2): it is the one checked, and the
// Origin check applies to its path. (The error body is the plain JSON shape: the handler sees the full URL.)
const absolute = (authority: string, head = '') => raw(head + sized(PING), PING, `http://${authority}/mcp/a`);
t.test('absolute-form target naming a foreign host, loopback Host header: 403, never forwarded', async (t) => {
  const { result, atA } = await send(absolute('evil.example'));
  t.same(
    result.map((r) => [r.status, JSON.parse(r.body)]),
    [[403, { error: { code: 'HOST_FORBIDDEN', message: 'host "evil.example" is not allowed' } }]],
  );
  t.same(atA, []);
});
t.test('absolute-form target on the proxy itself with a foreign Origin: 403, never forwarded', async (t) => {
  const { result, atA } = await send(absolute(`127.0.0.1:${port}`, 'Origin: https://evil.example\r\n'));
  t.same(
    result.map((r) => [r.status, JSON.parse(r.body)]),
    [[403, { error: { code: 'ORIGIN_FORBIDDEN', message: 'origin "https://evil.example" is not allowed' } }]],
  );
  t.same(atA, []);
});

// ---- bodies: too large, too slow -----------------------------------------------------------

const BIG = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(20 * 1024) } });
const TOO_LARGE = rpcError(-32600, 'Request body is too large', 'BODY_TOO_LARGE');
for (const [label, bytes] of [
  ['with a Content-Length', raw(sized(BIG), BIG)],
  ['chunked, without a length', raw('Transfer-Encoding: chunked\r\n', chunked(BIG))],
  ['announced by its Content-Length only', raw('Content-Length: 100000000\r\n', PING)],
] as const) {
  t.test(`a body over server.bodyLimit (16 KiB here), ${label}: 413, nothing forwarded`, async (t) => {
    const { result, atA } = await send(bytes);
    t.equal(result[0]?.status, 413);
    t.same(JSON.parse(result[0]!.body), TOO_LARGE);
    t.same(atA, []);
  });
}

/** Writes `head`, then one byte of `drip` every `everyMs`, until the server answers or closes. */
function dripped(head: string, drip: string, everyMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let i = 0;
    const timer = setInterval(() => i < drip.length && socket.write(drip[i++]!), everyMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(head);
  });
}

t.test('a body that stalls is cut with 408 after server.requestTimeout (1 s here), nothing forwarded', async (t) => {
  const { result, atA } = await send(raw(sized(PING), PING.slice(0, 10)), 10_000);
  t.same(
    result.map((r) => r.status),
    [408],
  );
  t.equal(result[0]?.body, PARSER[408]);
  t.same(atA, []);
});

t.test(
  'a body dripped a byte at a time is cut too: the timeout bounds the whole request, not the silence',
  async (t) => {
    const { result, atA } = await watch(async () => responses(await dripped(raw(sized(PING)), PING, 100)));
    t.same(
      result.map((r) => r.status),
      [408],
      'cut before its 40 bytes (4 s) were all in',
    );
    t.same(atA, []);
  },
);

t.test('while 20 bodies stall, the proxy answers other requests', async (t) => {
  let cut = 0;
  const stalled = Array.from({ length: 20 }, () =>
    rawExchange(port, raw(sized(PING), '{'), 10_000).then((r) => {
      cut++;
      return responses(r);
    }),
  );
  await new Promise((r) => setTimeout(r, 100));
  const { result, atA } = await asAlice('/mcp/a');
  t.equal(result.status, 200, 'answered');
  t.equal(cut, 0, 'while every stalled request was still open');
  t.equal(atA.length, 1);
  t.same(
    (await Promise.all(stalled)).map((r) => r.map((x) => x.status)),
    Array(20).fill([408]),
  );
});

// ---- headers -------------------------------------------------------------------------------

t.test('a 20 KB header value (over Node’s 16 KiB header limit): 431', (t) =>
  refusedByParser(t, raw(`X-Custom: ${'x'.repeat(20_000)}\r\n${sized(PING)}`, PING), 431),
);
t.test('10,000 headers: 431', (t) =>
  refusedByParser(
    t,
    raw(`${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v\r\n`).join('')}${sized(PING)}`, PING),
    431,
  ),
);

// ---- methods -------------------------------------------------------------------------------

for (const method of ['PUT', 'PATCH', 'HEAD']) {
  t.test(`${method} /mcp/a: 405, never forwarded`, async (t) => {
    const { result, atA } = await send(
      raw(method === 'HEAD' ? '' : sized(PING), method === 'HEAD' ? '' : PING, '/mcp/a', method),
    );
    t.same(
      result.map((r) => r.status),
      [405],
    );
    if (method !== 'HEAD')
      t.same(JSON.parse(result[0]!.body), rpcError(-32603, `method ${method} not allowed here`, 'METHOD_NOT_ALLOWED'));
    t.same(atA, []);
  });
}

for (const method of ['PROPFIND', 'TRACE', 'OPTIONS']) {
  t.test(`${method} /mcp/a (no route): 404, never forwarded`, async (t) => {
    const { result, atA } = await send(`${method} /mcp/a HTTP/1.1\r\n${AUTH}\r\n`);
    t.same(
      result.map((r) => r.status),
      [404],
    );
    t.same(JSON.parse(result[0]!.body), NOT_FOUND);
    t.same(atA, []);
  });
}

t.test('a method Node does not know (FOO): 400 at the parser', (t) =>
  refusedByParser(t, raw(sized(PING), PING, '/mcp/a', 'FOO')),
);

t.test('CONNECT /mcp/a: the connection is closed without an answer, nothing forwarded', async (t) => {
  const { result, atA } = await watch(() => rawExchange(port, `CONNECT /mcp/a HTTP/1.1\r\n${AUTH}\r\n`, 3000));
  t.equal(result, '', 'no tunnel, no response: Node closes a CONNECT nobody listens for');
  t.same(atA, []);
});

t.test('everything any case above forwarded went to the configured URLs, and b heard only from bob', async (t) => {
  t.ok(a.seen.length > 0);
  t.same([...new Set(a.seen.map((r) => `${r.url} ${r.headers['x-forwarded-user']}`))], [`${A_PATH} alice`]);
  t.same(
    b.seen.map((r) => `${r.url} ${r.headers['x-forwarded-user']}`),
    ['/mcp bob'],
  );
});
