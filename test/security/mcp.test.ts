// Hostile MCP bodies and requests at /mcp/<backend>: malformed JSON, wrong JSON-RPC types, tool
// calls whose name policy cannot read, hostile batches, deep nesting, sessions presented by
// another user, foreign Origin and Host, non-JSON content types. Each input goes on alice's own
// session to a recording HTTP backend and to a recording stdio process; every refusal is exact
// and neither backend receives anything (for stdio: a marker call sent afterwards on the same
// pipe is the first thing the process reads).
import t, { type Test } from 'tap';
import { apiKey, portOf, startRecorder, stdioRecorder, verbatim } from '../helpers/hostile.js';
import { startProxy } from '../helpers/proxy.js';
import { mcpSession, rpc } from '../helpers/session-client.js';

const rec = await startRecorder();
const stdio = stdioRecorder();
const alice = apiKey('alice', 'alice');
const bob = apiKey('bob', 'bob');
const rules = { tools: [{ match: 'delete_*', deny: true }, { match: '*' }] };
const proxy = await startProxy({
  server: { logLevel: 'warn' },
  apiKeys: [alice.config, bob.config],
  backends: [
    { name: 'http', http: { url: rec.url }, ...rules },
    stdio.backend('stdio', 'session', rules),
    stdio.backend('shared', 'shared', rules),
    { name: 'plain', http: { url: rec.url } },
  ],
});
t.teardown(async () => {
  await proxy.close();
  await rec.close();
});
const port = portOf(proxy.url);
const url = (backend: string) => `${proxy.url}/mcp/${backend}`;
type Session = Awaited<ReturnType<typeof mcpSession>>;
const sessions = {
  http: await mcpSession(url('http'), alice.headers),
  stdio: await mcpSession(url('stdio'), alice.headers),
};
const plainSession = await mcpSession(url('plain'), alice.headers);

const MARK = 'test/marker';
/**
 * What the HTTP backend and the stdio processes received while
 * `fn` ran (for stdio: up to a marker sent after it on `marker`).
 */
async function watch<T>(fn: () => Promise<T>, marker: [string, Session] = ['stdio', sessions.stdio]) {
  const [nHttp, nStdio] = [rec.seen.length, stdio.seen().length];
  const result = await fn();
  await marker[1].call(MARK);
  return {
    result,
    http: rec.seen.slice(nHttp).filter((r) => JSON.parse(r.body || '{}').method !== MARK),
    stdio: stdio
      .seen()
      .slice(nStdio)
      .filter((m) => m.method !== MARK),
  };
}

const post = (backend: string, s: Session, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(url(backend), { method: 'POST', headers: { ...s.headers, ...headers }, body }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));

/** `body` is answered `status` + `expected` by every backend route of `targets`, and no backend receives anything. */
async function refused(
  t: Test,
  body: string | Buffer,
  status: number,
  expected: unknown,
  headers: Record<string, string> = {},
  targets: Record<string, Session> = sessions,
) {
  const {
    result,
    http,
    stdio: atStdio,
  } = await watch(() => Promise.all(Object.entries(targets).map(([name, s]) => post(name, s, body, headers))));
  for (const [i, name] of Object.keys(targets).entries())
    t.same(result[i], { status, body: expected }, `${name} backend route: ${status}`);
  t.same(http, [], 'the HTTP backend received nothing');
  t.same(atStdio, [], 'the stdio process read nothing');
}
const rpcError = (code: number, message: string, name: string) => ({
  jsonrpc: '2.0',
  id: null,
  error: { code, message, data: { code: name } },
});
const invalid = (why: string) => rpcError(-32600, `invalid JSON-RPC: ${why}`, 'BAD_REQUEST');
const PARSE_ERROR = rpcError(-32600, 'parse error: the body is not valid JSON', 'BAD_REQUEST');
const DENIED_BATCH = {
  jsonrpc: '2.0',
  id: null,
  error: { code: -32003, message: 'access denied: the batch contains a call you may not make' },
};
const SESSION_NOT_FOUND = rpcError(-32001, 'MCP session not found', 'MCP_SESSION_NOT_FOUND');
const call = (name: unknown, id = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

// ---- malformed JSON ------------------------------------------------------------------------

t.test('malformed: truncated JSON is a parse error', (t) =>
  refused(t, '{"jsonrpc":"2.0","id":1,"method":"pi', 400, PARSE_ERROR),
);

t.test(
  'malformed: invalid UTF-8 is a parse error, not U+FFFD (policy would judge another name than a lax backend)',
  (t) =>
    refused(
      t,
      Buffer.concat([
        Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('delete_all"}}'),
      ]),
      400,
      PARSE_ERROR,
    ),
);

t.test('malformed: a UTF-8 byte order mark before the JSON is a parse error', (t) =>
  refused(t, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rpc('ping'))]), 400, PARSE_ERROR),
);

for (const body of ['"tools/call"', '42', 'null', 'true', '[1,2]']) {
  t.test(`malformed: ${body} instead of a message`, (t) =>
    refused(t, body, 400, invalid('not a JSON-RPC message or batch')),
  );
}

// ---- wrong JSON-RPC types ------------------------------------------------------------------

t.test('types: method 123', (t) =>
  refused(t, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 123 }), 400, invalid('method must be a string')),
);
t.test('types: params "x"', (t) =>
  refused(
    t,
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: 'x' }),
    400,
    invalid('params must be an object'),
  ),
);
t.test('types: params by position, naming a denied tool', (t) =>
  refused(
    t,
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['delete_all', {}] }),
    400,
    invalid('params must be an object'),
  ),
);
t.test('types: id {} (an object)', (t) =>
  refused(
    t,
    JSON.stringify({ jsonrpc: '2.0', id: {}, method: 'ping' }),
    400,
    invalid('id must be a string or a number'),
  ),
);
t.test('types: jsonrpc "1.0"', (t) =>
  refused(t, JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'ping' }), 400, invalid('jsonrpc must be "2.0"')),
);

// ---- tools/call names policy cannot read (rules: delete_* denied, * allowed) --------------

const NAMELESS = invalid('tools/call needs params.name as a string');
const names: Array<[string, string]> = [
  ['missing', rpc('tools/call', { arguments: {} })],
  ['a number', JSON.stringify(call(123))],
  ['null', JSON.stringify(call(null))],
  ['an array holding an allowed name', JSON.stringify(call(['echo']))],
  ['an array holding a denied name', JSON.stringify(call(['delete_all']))],
  ['an object', JSON.stringify(call({ toString: 'delete_all' }))],
  [
    'only inherited (an own "__proto__" key)',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"delete_all"}}}',
  ],
];
for (const [label, body] of names)
  t.test(`tools/call with name ${label}: refused, not matched against "*"`, (t) => refused(t, body, 400, NAMELESS));

t.test('control: a tools/call with a string name the rules allow reaches both backends as sent', async (t) => {
  const body = JSON.stringify(call('echo', 7));
  const {
    result,
    http,
    stdio: atStdio,
  } = await watch(() => Promise.all(Object.entries(sessions).map(([name, s]) => post(name, s, body))));
  t.same(
    result.map((r) => r.status),
    [200, 200],
  );
  t.same(
    http.map((r) => r.body),
    [body],
    'the HTTP backend got the bytes as sent',
  );
  t.same(
    atStdio.map((m) => [m.method, m.params.name, m.params._meta['io.mcp-oidc-proxy/user'].sub]),
    [['tools/call', 'echo', 'alice']],
  );
});

// ---- duplicate keys: JSON.parse keeps the last copy, a first-key-wins backend the first -------

// Every backend kind, and one without rules (whose bytes used to go out unparsed when nothing was judged).
const everyKind = { ...sessions, plain: plainSession };
const duplicate = (key: string) =>
  invalid(`duplicate key ${JSON.stringify(key)} in an object (JSON parsers disagree on which copy counts)`);
const FORGED_META = '{"io.mcp-oidc-proxy/user":{"sub":"root","groups":["admin"]}}';
const duplicates: Array<[string, string, string]> = [
  [
    'method (tools/call first, tools/list last)',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list","params":{"name":"delete_ticket"}}',
    'method',
  ],
  [
    'params (the denied call first)',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_ticket"},"params":{"name":"echo"}}',
    'params',
  ],
  [
    'params.name',
    '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"delete_all","name":"echo","arguments":{}}}',
    'name',
  ],
  [
    'params.name, one copy escaped',
    '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"n\\u0061me":"delete_all","name":"echo","arguments":{}}}',
    'name',
  ],
  [
    'params.uri of resources/read',
    '{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/shadow","uri":"file:///readme"}}',
    'uri',
  ],
  [
    '_meta carrying a forged identity first',
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":${FORGED_META},"_meta":{}}}`,
    '_meta',
  ],
  [
    'our _meta key itself',
    '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":' +
      '{"io.mcp-oidc-proxy/user":{"sub":"root"},"io.mcp-oidc-proxy/user":{"sub":"alice"}}}}',
    'io.mcp-oidc-proxy/user',
  ],
  ['id', '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}', 'id'],
  ['jsonrpc', '{"jsonrpc":"1.0","jsonrpc":"2.0","id":1,"method":"ping"}', 'jsonrpc'],
  [
    'deep inside the arguments',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":[{"b":{"c":1,"c":2}}]}}}',
    'c',
  ],
  [
    'in the second element of a batch',
    '[{"jsonrpc":"2.0","id":1,"method":"ping"},' +
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","method":"tools/list","params":{"name":"delete_all"}}]',
    'method',
  ],
];
for (const [label, body, key] of duplicates) {
  t.test(`duplicate keys: ${label}: refused 400 on every backend, with or without rules`, (t) =>
    refused(t, body, 400, duplicate(key), {}, everyKind),
  );
}

t.test(
  'duplicate keys: the 2026-07-28 header fast path does not pass them either (a rule-less HTTP backend)',
  async (t) => {
    const headers = {
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'delete_ticket',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...alice.headers,
    };
    const body =
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list","params":{"name":"delete_ticket",' +
      '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}';
    const { result, http } = await watch(() =>
      fetch(url('plain'), { method: 'POST', headers, body }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      })),
    );
    t.same(result, { status: 400, body: duplicate('method') });
    t.same(http, [], 'the backend received nothing');
    const control = await watch(() =>
      fetch(url('plain'), { method: 'POST', headers, body: body.replace('"method":"tools/list",', '') }),
    );
    t.equal(control.result.status, 200, 'control: the same call without the duplicate goes through');
    t.equal(control.http.length, 1);
  },
);

t.test('control: the same keys in different objects, and a key text inside a string, are not duplicates', async (t) => {
  const body =
    '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo",' +
    '"arguments":{"name":"x","list":[{"id":1},{"id":2}],"s":"\\"name\\":1"}}}';
  const { result, http } = await watch(() => post('plain', everyKind.plain, body));
  t.equal(result.status, 200);
  t.same(
    http.map((r) => r.body),
    [body],
    'forwarded as sent',
  );
});

// ---- batches -------------------------------------------------------------------------------

t.test('batch: empty', (t) => refused(t, '[]', 400, invalid('empty batch')));
t.test('batch: an allowed and a denied tool call is refused whole', (t) =>
  refused(t, JSON.stringify([call('echo', 1), call('delete_all', 2)]), 403, DENIED_BATCH),
);

const batch = (n: number, last: string) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => call(i === n - 1 ? last : 'echo', i)));
t.test('batch: 10,000 calls with the denied one last: every entry is judged, the batch is refused whole', (t) =>
  refused(t, batch(10_000, 'delete_all'), 403, DENIED_BATCH),
);

t.test('batch: 10,000 allowed calls reach the HTTP backend as one request, and every call is answered', async (t) => {
  const body = batch(10_000, 'echo');
  const { result, http } = await watch(() => post('http', sessions.http, body));
  t.equal(result.status, 200);
  t.equal((result.body as unknown[]).length, 10_000);
  t.equal(http.length, 1);
  t.equal(http[0]!.body, body);
});

// ---- deep nesting --------------------------------------------------------------------------

const deep = (n: number, inner = '1') => '{"a":'.repeat(n) + inner + '}'.repeat(n);
t.test('nesting: 100,000 levels as the whole body', (t) =>
  refused(t, deep(100_000), 400, invalid('nested deeper than 128 levels')),
);
t.test('nesting: 100,000 levels inside the arguments of an allowed call (a stdio backend used to answer 500)', (t) =>
  refused(
    t,
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":${deep(100_000)}}}`,
    400,
    invalid('nested deeper than 128 levels'),
  ),
);

t.test('nesting: 128 levels pass, brackets inside strings do not count, and the proxy is still up', async (t) => {
  const body =
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",' +
    `"arguments":${deep(126, '"[[[[{{{{"')}}}`;
  const { result, http } = await watch(() => post('http', sessions.http, body));
  t.equal(result.status, 200);
  t.same(
    http.map((r) => r.body),
    [body],
  );
  t.equal((await fetch(`${proxy.url}/healthz`)).status, 200);
});

// ---- sessions belong to their creator ------------------------------------------------------

for (const backend of ['http', 'stdio', 'shared']) {
  t.test(`an Mcp-Session-Id alice created on ${backend}, presented by bob: 404 for POST, GET and DELETE`, async (t) => {
    const own = backend === 'stdio' ? sessions.stdio : await mcpSession(url(backend), alice.headers);
    // bob has a session of his own on the same process
    if (backend === 'shared') await mcpSession(url(backend), bob.headers);
    const asBob = { ...own.headers, ...bob.headers };
    const {
      result,
      http,
      stdio: atStdio,
    } = await watch(
      () =>
        Promise.all(
          [
            fetch(url(backend), {
              method: 'POST',
              headers: asBob,
              body: rpc('tools/call', { name: 'echo', arguments: { text: 'bob was here' } }),
            }),
            fetch(url(backend), { method: 'GET', headers: { ...asBob, accept: 'text/event-stream' } }),
            fetch(url(backend), { method: 'DELETE', headers: asBob }),
          ].map((p) => p.then(async (r) => ({ status: r.status, body: await r.json() }))),
        ),
      [backend, own],
    );
    t.same(result, Array(3).fill({ status: 404, body: SESSION_NOT_FOUND }));
    t.same(http, [], 'the HTTP backend heard nothing from bob');
    t.same(atStdio, [], 'no stdio process heard from bob');
    t.equal((await own.call('ping')).status, 200, "bob's DELETE did not end alice's session");
  });
}

// ---- Origin, Host, Content-Type ------------------------------------------------------------

for (const [label, origin] of [
  ['another site', 'https://evil.example'],
  ['null (sandboxed page)', 'null'],
  ['publicUrl as a prefix of another host', `${proxy.url}.evil.example`],
]) {
  t.test(`Origin of ${label} on /mcp: 403`, (t) =>
    refused(
      t,
      rpc('ping'),
      403,
      rpcError(-32001, `origin ${JSON.stringify(origin)} is not allowed`, 'ORIGIN_FORBIDDEN'),
      { origin },
    ),
  );
}

const withHost = (host: string) =>
  watch(() => verbatim(port, 'POST', '/mcp/http', { ...sessions.http.headers, host }, rpc('ping')));
const withPort = (host: string) => host.replace('<port>', String(port));
for (const name of [
  'evil.example',
  'evil.example:<port>',
  '127.0.0.1.nip.io:<port>',
  'localhost.evil.example:<port>',
]) {
  t.test(`DNS rebinding: Host ${name} on a proxy bound to 127.0.0.1: 403`, async (t) => {
    const host = withPort(name);
    const { result, http } = await withHost(host);
    t.equal(result.status, 403);
    t.same(JSON.parse(result.body), rpcError(-32001, `host ${JSON.stringify(host)} is not allowed`, 'HOST_FORBIDDEN'));
    t.same(http, []);
  });
}
for (const name of ['localhost:<port>', '127.0.0.1:<port>', '[::1]:<port>', 'mcp.localhost:<port>']) {
  t.test(`loopback Host ${name} is accepted`, async (t) => {
    const { result, http } = await withHost(withPort(name));
    t.equal(result.status, 200);
    t.equal(http.length, 1);
  });
}

const UNSUPPORTED = rpcError(-32600, 'unsupported content type', 'UNSUPPORTED_MEDIA_TYPE');
for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
  t.test(`Content-Type: ${type} POST: 415, even though the body is JSON`, (t) =>
    refused(t, rpc('ping'), 415, UNSUPPORTED, { 'content-type': type }),
  );
}

t.test('control: Content-Type application/json; charset=utf-8 is JSON', async (t) => {
  const { result, http } = await watch(() =>
    post('http', sessions.http, rpc('ping'), { 'content-type': 'Application/JSON; charset=utf-8' }),
  );
  t.equal(result.status, 200);
  t.equal(http.length, 1);
  t.equal(http[0]!.headers['content-type'], 'Application/JSON; charset=utf-8');
});

t.test('control: alice can still use both sessions after all of the above', async (t) => {
  for (const s of Object.values(sessions)) t.equal((await s.call('ping')).status, 200);
});
