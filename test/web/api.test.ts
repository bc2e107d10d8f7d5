// The REST API over MCP, end to end: session (CSRF enforced) and API key, policy and
// audit applied as for any MCP client, every error with its status and stable shape.
import t from 'tap';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { DEMO_STDIO } from '../helpers/stdio-stack.js';
import { startStack } from '../helpers/stack.js';

const KEY = 'rest_api_test_key_123456';
const stack = await startStack({
  consent: false,
  proxy: { apiKeys: [{ name: 'ci-bot', sha256: hashApiKey(KEY), subject: 'svc:ci', groups: ['support'] }] },
  backends: (url) => [
    {
      name: 'tickets',
      http: { url },
      allow: { groups: ['support'] },
      tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: 'crash', deny: true }, { match: '*' }],
    },
    { name: 'legacy', stdio: { command: process.execPath, args: [DEMO_STDIO] } },
    { name: 'admins', http: { url }, allow: { groups: ['admin'] } },
    { name: 'down', http: { url: 'http://127.0.0.1:9/mcp' } },
  ],
});
t.teardown(() => stack.close());
const { proxy } = stack;
const { cookie } = await loginThroughProxy(proxy.url, 'bob');
const csrf = ((await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as any)
  .csrfToken as string;
const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  fetch(`${proxy.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
const asBob = { cookie, 'x-csrf-token': csrf };
const asBot = { 'x-api-key': KEY };

t.test('GET /api/backends lists what this user may use', async (t) => {
  const res = await api('/api/backends', { headers: asBob });
  t.equal(res.status, 200);
  const names = ((await res.json()) as any).backends.map((b: any) => b.name);
  t.same(names, ['tickets', 'legacy', 'down'], 'admins is not listed for bob');
});

t.test('tools: list filtered by policy, call, denied call, unknown tool, bad input', async (t) => {
  const tools = ((await (await api('/api/backends/tickets/tools', { headers: asBob })).json()) as any).tools.map(
    (x: any) => x.name,
  );
  t.ok(tools.includes('whoami') && !tools.includes('delete_everything'));
  const who = await api('/api/backends/tickets/tools/call', {
    method: 'POST',
    headers: asBob,
    body: { name: 'whoami', arguments: {} },
  });
  t.equal(who.status, 200);
  const result = (await who.json()) as any;
  t.equal(result.structuredContent.user, 'bob', 'the backend saw bob: same identity path as MCP clients');
  const denied = await api('/api/backends/tickets/tools/call', {
    method: 'POST',
    headers: asBob,
    body: { name: 'delete_everything' },
  });
  t.equal(denied.status, 403);
  t.same(await denied.json(), {
    error: { code: 'FORBIDDEN', message: 'access denied: you may not use tool "delete_everything"' },
  });
  const bad = await api('/api/backends/tickets/tools/call', {
    method: 'POST',
    headers: asBob,
    body: { arguments: {} },
  });
  t.equal(bad.status, 400);
  t.equal(((await bad.json()) as any).error.code, 'BAD_REQUEST');
  for (const who of [asBob, asBot]) {
    const unknown = await api('/api/backends/tickets/tools/call', {
      method: 'POST',
      headers: who,
      body: { name: 'no_such_tool', arguments: {} },
    });
    t.equal(unknown.status, 404, "an unknown tool is 404, not the backend's isError result");
    t.same(await unknown.json(), { error: { code: 'TOOL_NOT_FOUND', message: 'unknown tool "no_such_tool"' } });
  }
  const dup = await fetch(`${proxy.url}/api/backends/tickets/tools/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...asBob },
    body: '{"name":"delete_everything","name":"whoami","arguments":{}}',
  });
  t.equal(dup.status, 400, 'a duplicate key is refused, not read as its last copy');
  t.same(await dup.json(), { error: { code: 'BAD_REQUEST', message: 'duplicate key "name" in an object' } });
  const unknownBackend = await api('/api/backends/nope/tools', { headers: asBob });
  t.equal(unknownBackend.status, 404);
  t.equal(((await unknownBackend.json()) as any).error.code, 'BACKEND_NOT_FOUND');
  const audited = proxy
    .logs()
    .some((l: any) => l.audit && l.decision === 'deny' && l.name === 'delete_everything' && l.principal.sub === 'bob');
  t.ok(audited, 'the REST call is audited like any MCP call');
});

t.test('resources and prompts', async (t) => {
  const list = (await (await api('/api/backends/legacy/resources', { headers: asBob })).json()) as any;
  t.ok(list.resources.some((r: any) => r.uri === 'demo://readme'));
  const read = await api('/api/backends/legacy/resources/read', {
    method: 'POST',
    headers: asBob,
    body: { uri: 'demo://readme' },
  });
  t.equal(read.status, 200);
  t.ok(((await read.json()) as any).contents.length);
  const prompts = (await (await api('/api/backends/legacy/prompts', { headers: asBob })).json()) as any;
  t.ok(prompts.prompts.some((p: any) => p.name === 'greet'));
  const got = await api('/api/backends/legacy/prompts/get', {
    method: 'POST',
    headers: asBob,
    body: { name: 'greet', arguments: { name: 'Ann' } },
  });
  t.match(JSON.stringify(await got.json()), 'greet Ann');
  const noPrompt = await api('/api/backends/legacy/prompts/get', {
    method: 'POST',
    headers: asBob,
    body: { name: 'no_such_prompt' },
  });
  t.equal(noPrompt.status, 404);
  t.same(await noPrompt.json(), { error: { code: 'PROMPT_NOT_FOUND', message: 'unknown prompt "no_such_prompt"' } });
  const noResource = await api('/api/backends/legacy/resources/read', {
    method: 'POST',
    headers: asBob,
    body: { uri: 'demo://no-such-thing' },
  });
  t.equal(noResource.status, 404);
  t.same(await noResource.json(), {
    error: { code: 'RESOURCE_NOT_FOUND', message: 'unknown resource "demo://no-such-thing"' },
  });
});

t.test('session POSTs need the CSRF token; API keys do not', async (t) => {
  const noCsrf = await api('/api/backends/tickets/tools/call', {
    method: 'POST',
    headers: { cookie },
    body: { name: 'echo', arguments: { text: 'x' } },
  });
  t.equal(noCsrf.status, 403);
  t.equal(((await noCsrf.json()) as any).error.code, 'CSRF_FAILED');
  const bot = await api('/api/backends/tickets/tools/call', {
    method: 'POST',
    headers: asBot,
    body: { name: 'echo', arguments: { text: 'from ci' } },
  });
  t.equal(bot.status, 200);
  t.match(JSON.stringify(await bot.json()), 'from ci');
});

t.test('401, 403 backend, 502 backend down', async (t) => {
  const anon = await api('/api/backends/tickets/tools');
  t.equal(anon.status, 401);
  t.equal(((await anon.json()) as any).error.code, 'UNAUTHENTICATED');
  const forbidden = await api('/api/backends/admins/tools', { headers: asBob });
  t.equal(forbidden.status, 403);
  const down = await api('/api/backends/down/tools', { headers: asBob });
  t.equal(down.status, 502);
  t.equal(((await down.json()) as any).error.code, 'BACKEND_UNAVAILABLE');
});

t.test('logout closes the MCP sessions held for that browser session', async (t) => {
  const alice = await loginThroughProxy(proxy.url, 'alice');
  const status = (await (
    await fetch(`${proxy.url}/oauth/status`, { headers: { cookie: alice.cookie } })
  ).json()) as any;
  const h = { cookie: alice.cookie, 'x-csrf-token': status.csrfToken };
  t.equal((await api('/api/backends/legacy/tools', { headers: h })).status, 200);
  const before = stack.backend.seen.length;
  t.equal((await api('/api/backends/tickets/tools', { headers: h })).status, 200);
  const opened = stack.backend.seen
    .slice(before)
    .find((s) => s.method === 'POST' && s.headers['mcp-session-id'] === undefined);
  t.ok(opened, 'an MCP session was opened on the HTTP backend');
  const out = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    headers: { cookie: alice.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: `csrf=${encodeURIComponent(status.csrfToken)}`,
  });
  t.equal(out.status, 200);
  t.ok(
    stack.backend.seen.some((s) => s.method === 'DELETE' && String(s.headers['x-forwarded-user']) === 'alice'),
    'the HTTP backend session was DELETEd at logout',
  );
});
