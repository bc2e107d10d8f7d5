// MCP 2026-07-28 (stateless: no initialize, no Mcp-Session-Id, Mcp-Method / Mcp-Name headers)
// through the real proxy: to a small stateless HTTP MCP server written here and to the demo
// stdio server; policy by the headers, header/body mismatches refused before any backend, and
// a 2025-06-18 SDK client on the same proxy still working.
import t from 'tap';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loginThroughProxy, MCP_ACCEPT } from '../helpers/session-client.js';
import { connect, demoChildren, DEMO_STDIO, whoami } from '../helpers/stdio-stack.js';
import { startStack } from '../helpers/stack.js';

const V = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/**
 * A stateless MCP server of the 2026-07-28 revision: validates its headers against the body as the revision requires.
 */
async function startStatelessServer() {
  const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const tools = ['echo', 'delete_all'].map((name) => ({ name, inputSchema: { type: 'object' } }));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ headers: req.headers, body });
      const send = (status: number, msg: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(msg));
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const m = JSON.parse(body);
      const name = m.params?.name ?? m.params?.uri;
      const sent = /^=\?base64\?(.*)\?=$/.exec(String(req.headers['mcp-name']));
      const headerName = sent ? Buffer.from(sent[1]!, 'base64').toString('utf8') : req.headers['mcp-name'];
      if (req.headers['mcp-method'] !== m.method || (name !== undefined && headerName !== name))
        return send(400, { jsonrpc: '2.0', id: m.id, error: { code: -32020, message: 'Header mismatch (backend)' } });
      if (m.method === 'tools/list')
        return send(200, { jsonrpc: '2.0', id: m.id, result: { resultType: 'complete', tools } });
      if (m.method === 'tools/call')
        return send(200, {
          jsonrpc: '2.0',
          id: m.id,
          result: { resultType: 'complete', content: [{ type: 'text', text: `${name} ran` }] },
        });
      send(404, { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const modern = await startStatelessServer();
const rules = { tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: '*' }] };
const stdio = (name: string, isolation: string) => ({
  name,
  stdio: { command: process.execPath, args: [DEMO_STDIO], isolation },
  ...rules,
});
const stack = await startStack({
  consent: false,
  backends: (url) => [
    { name: 'modern', http: { url: modern.url }, ...rules },
    { name: 'open', http: { url: modern.url } },
    { name: 'demo', http: { url } },
    stdio('legacy', 'shared'),
    stdio('isolated', 'session'),
  ],
});
t.teardown(async () => {
  await stack.close();
  await modern.close();
});
const { proxy } = stack;
const alice = (await loginThroughProxy(proxy.url, 'alice')).cookie; // admin, support
const bob = (await loginThroughProxy(proxy.url, 'bob')).cookie; // support

let nextId = 1;
function call(
  backend: string,
  cookie: string,
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string> = {},
  raw?: string,
) {
  const name = (params.name ?? params.uri) as string | undefined;
  const body = raw ?? JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: META } });
  return fetch(`${proxy.url}/mcp/${backend}`, {
    method: 'POST',
    headers: {
      cookie,
      'content-type': 'application/json',
      accept: MCP_ACCEPT,
      'mcp-protocol-version': V,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
      ...headers,
    },
    body,
  });
}

t.test('HTTP backend: forwarded as sent, headers included, no session required or invented', async (t) => {
  const before = modern.seen.length;
  const res = await call(
    'modern',
    bob,
    'tools/call',
    { name: 'echo', arguments: { text: 'hi' } },
    { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=1' },
  );
  t.equal(res.status, 200);
  t.equal(res.headers.get('mcp-session-id'), null, 'no session id handed out');
  t.equal(((await res.json()) as any).result.content[0].text, 'echo ran');
  t.equal(modern.seen.length, before + 1);
  const got = modern.seen.at(-1)!.headers;
  t.equal(got['mcp-method'], 'tools/call');
  t.equal(got['mcp-name'], 'echo');
  t.equal(got['mcp-protocol-version'], V);
  t.equal(got['mcp-session-id'], undefined, 'none invented');
  t.equal(got.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'W3C trace context forwarded');
  t.equal(got.tracestate, 'vendor=1');
  t.equal(got['x-forwarded-user'], 'bob', 'identity headers as always');
});

t.test('policy by the headers: a denied tool is refused before the backend, an allowed one passes', async (t) => {
  const before = modern.seen.length;
  const denied = (await (await call('modern', bob, 'tools/call', { name: 'delete_all', arguments: {} })).json()) as any;
  t.equal(denied.error.code, -32003);
  t.match(denied.error.message, /you may not use tool "delete_all"/);
  t.equal(modern.seen.length, before, 'the backend never saw it');
  const allowed = (await (
    await call('modern', alice, 'tools/call', { name: 'delete_all', arguments: {} })
  ).json()) as any;
  t.equal(allowed.result.content[0].text, 'delete_all ran');
  t.equal(modern.seen.length, before + 1);
});

t.test('headers that disagree with the body are refused 400 HeaderMismatch, nothing forwarded', async (t) => {
  const before = modern.seen.length;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 41,
    method: 'tools/call',
    params: { name: 'delete_all', arguments: {}, _meta: META },
  });
  for (const [cookie, headers] of [
    [alice, { 'mcp-name': 'echo' }],
    [bob, { 'mcp-name': 'echo' }],
    [bob, { 'mcp-method': 'tools/list' }],
  ] as const) {
    const res = await call('modern', cookie, 'tools/call', { name: 'echo' }, headers, body);
    t.equal(res.status, 400);
    const msg = (await res.json()) as any;
    t.equal(msg.id, 41);
    t.equal(msg.error.code, -32020);
    t.match(
      msg.error.message,
      headers['mcp-name']
        ? /Mcp-Name header value 'echo' does not match body value 'delete_all'/
        : /Mcp-Method header value 'tools\/list' does not match body value 'tools\/call'/,
    );
  }
  const noName = await call('modern', alice, 'tools/call', {}, {}, body);
  t.equal(noName.status, 400, 'a 2026-07-28 tools/call without Mcp-Name');
  t.match(((await noName.json()) as any).error.message, /Mcp-Name header is required/);
  const version = await call(
    'modern',
    alice,
    'tools/call',
    { name: 'delete_all' },
    { 'mcp-protocol-version': '2025-11-25' },
    body,
  );
  t.equal(version.status, 400, "MCP-Protocol-Version must match the body's _meta");
  t.equal(modern.seen.length, before, 'the backend saw none of them');
  const denials = proxy.logs().filter((l: any) => l.audit && l.status === 400 && /Header mismatch/.test(l.reason));
  t.ok(denials.length >= 3, 'refusals are audited');
});

t.test('base64-encoded Mcp-Name is decoded before comparing', async (t) => {
  const res = await call(
    'modern',
    bob,
    'tools/call',
    { name: 'echo', arguments: {} },
    { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` },
  );
  t.equal(res.status, 200);
  t.equal(((await res.json()) as any).result.content[0].text, 'echo ran');
});

t.test('batches carrying the headers are refused 400 (the revision has none)', async (t) => {
  const before = modern.seen.length;
  const batch = JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } }]);
  for (const backend of ['modern', 'open', 'legacy']) {
    const res = await call(backend, alice, 'tools/list', {}, {}, batch);
    t.equal(res.status, 400, backend);
    t.equal(((await res.json()) as any).error.code, -32600);
  }
  t.equal(modern.seen.length, before);
});

t.test('a backend whose policy cannot depend on the body gets the bytes unparsed (fast path)', async (t) => {
  const raw =
    '{ "jsonrpc" : "2.0", "id": 7,\n "method": "tools/call", ' +
    `"params": { "name": "delete_all", "_meta": ${JSON.stringify(META)} } }`;
  const res = await call('open', bob, 'tools/call', { name: 'delete_all' }, {}, raw);
  t.equal(res.status, 200);
  t.equal(modern.seen.at(-1)!.body, raw, 'byte for byte');
  const line = proxy.logs().findLast((l: any) => l.audit && l.backend === 'open') as any;
  t.equal(line.method, 'tools/call');
  t.equal(line.name, 'delete_all', 'audited from the headers');
  // The fast path never lets a client's copy of our _meta key through: such a body is parsed and cleaned.
  const spoof = JSON.stringify({
    jsonrpc: '2.0',
    id: 8,
    method: 'tools/list',
    params: { _meta: { ...META, 'io.mcp-oidc-proxy/user': { sub: 'mallory' } } },
  });
  t.equal((await call('open', bob, 'tools/list', {}, {}, spoof)).status, 200);
  t.notMatch(modern.seen.at(-1)!.body, /mallory/);
  // Unparsed, a mismatch is the backend's to refuse (the revision obliges whoever reads the body).
  const lie = JSON.stringify({
    jsonrpc: '2.0',
    id: 9,
    method: 'tools/call',
    params: { name: 'delete_all', _meta: META },
  });
  const refused = await call('open', bob, 'tools/call', { name: 'echo' }, {}, lie);
  t.equal(refused.status, 400);
  t.equal(((await refused.json()) as any).error.code, -32020);
});

t.test('stdio backend (shared child): 2026-07-28 requests answered without a session', async (t) => {
  const list = await call('legacy', bob, 'tools/list', {});
  t.equal(list.status, 200);
  t.equal(list.headers.get('mcp-session-id'), null);
  const tools = ((await list.json()) as any).result.tools.map((x: any) => x.name);
  t.ok(tools.includes('echo'));
  t.notOk(tools.includes('delete_everything'), 'lists filtered by policy');
  const who = (await (await call('legacy', bob, 'tools/call', { name: 'whoami', arguments: {} })).json()) as any;
  t.equal(who.result.structuredContent.meta.sub, 'bob', 'identity in _meta as for any stdio call');
  const denied = (await (
    await call('legacy', bob, 'tools/call', { name: 'delete_everything', arguments: {} })
  ).json()) as any;
  t.match(denied.error.message, /you may not use tool "delete_everything"/);
  const echo = (await (
    await call('legacy', alice, 'tools/call', { name: 'echo', arguments: { text: 'stateless' } })
  ).json()) as any;
  t.equal(echo.result.content[0].text, 'stateless');
  const asks = (await (
    await call('legacy', alice, 'tools/call', { name: 'ask_client', arguments: { question: 'q' } })
  ).json()) as any;
  t.ok(
    asks.error || asks.result?.isError,
    'a server→client request is refused to the child, not sent to a stateless client',
  );
  const discover = (await (await call('legacy', bob, 'server/discover', {})).json()) as any;
  t.same(discover.result.supportedVersions, [V]);
  t.ok(discover.result.capabilities.tools);
  t.equal(discover.result._meta['io.modelcontextprotocol/serverInfo'].name, 'demo-stdio-server');
  const get = await fetch(`${proxy.url}/mcp/legacy`, {
    headers: { cookie: bob, accept: 'text/event-stream', 'mcp-protocol-version': V },
  });
  t.equal(get.status, 405, 'no GET stream in the stateless revision');
  const later = JSON.stringify({
    jsonrpc: '2.0',
    id: 5,
    method: 'tools/list',
    params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
  });
  const future = await call('legacy', bob, 'tools/list', {}, { 'mcp-protocol-version': '2099-01-01' }, later);
  t.equal(future.status, 400);
  t.equal(((await future.json()) as any).error.code, -32022);
});

t.test(
  'stdio backend (isolation: session): one child per principal for 2026-07-28 requests, not per request',
  async (t) => {
    const before = await demoChildren();
    const who = async (cookie: string) =>
      ((await (await call('isolated', cookie, 'tools/call', { name: 'whoami', arguments: {} })).json()) as any).result
        .structuredContent;
    const first = await who(bob);
    t.equal(first.meta.sub, 'bob');
    t.notOk(before.includes(first.pid), 'a new child');
    t.equal((await who(bob)).pid, first.pid, 'the next request of the same user: the same child');
    const other = await who(alice);
    t.equal(other.meta.sub, 'alice');
    t.not(other.pid, first.pid, 'another user: another child');
  },
);

t.test('a 2025-06-18 SDK client keeps working on the same proxy (HTTP and the shared stdio child)', async (t) => {
  for (const backend of ['demo', 'legacy']) {
    const { client, transport } = await connect(`${proxy.url}/mcp/${backend}`, bob);
    t.ok(transport.sessionId, `${backend}: a session`);
    const who = await whoami(client);
    t.ok(who.user === 'bob' || who.meta?.sub === 'bob', `${backend}: identity forwarded`);
    if (backend === 'legacy')
      await t.rejects(
        client.callTool({ name: 'delete_everything', arguments: {} }),
        /access denied/,
        'policy as before',
      );
    await client.close();
  }
});
