// Step-up scopes, dry-run, tenants and rate limits through the real proxy.
import t from 'tap';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { loginThroughProxy, mcpSession, readRpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const REDIRECT = 'http://127.0.0.1:33418/callback';

async function bearerFor(proxyUrl: string, resource: string, scope: string, user = 'alice') {
  const { meta, client } = await register(proxyUrl);
  const tok = await codeFlowTokens(meta, { clientId: client.client_id, redirect: REDIRECT, resource, scope, user });
  return tok.body;
}

t.test('step-up: a tool rule requiring a scope answers 403 insufficient_scope until the token has it', async (t) => {
  const stack = await startStack({
    consent: false,
    backends: (url) => [
      { name: 'tickets', http: { url }, tools: [{ match: 'delete_*', scopes: ['tickets:delete'] }, { match: '*' }] },
    ],
  });
  t.teardown(() => stack.close());
  const { proxy } = stack;
  const resource = `${proxy.url}/mcp/tickets`;
  const prm = (await (await fetch(`${proxy.url}/.well-known/oauth-protected-resource/mcp/tickets`)).json()) as any;
  t.same(prm.scopes_supported, ['mcp', 'tickets:delete'], 'the resource offers the step-up scope');
  const plain = await bearerFor(proxy.url, resource, 'mcp');
  t.equal(plain.scope, 'mcp');
  const mcp = await mcpSession(resource, { authorization: `Bearer ${plain.access_token}` });
  t.equal((await mcp.call('tools/call', { name: 'echo', arguments: { text: 'fine' } })).status, 200);
  const denied = await mcp.call('tools/call', { name: 'delete_everything', arguments: {} });
  t.equal(denied.status, 403);
  t.equal(
    denied.headers.get('www-authenticate'),
    `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp/tickets", ` +
      'error="insufficient_scope", scope="mcp tickets:delete"',
  );
  const stepped = await bearerFor(proxy.url, resource, 'mcp tickets:delete');
  t.equal(stepped.scope, 'mcp tickets:delete');
  const mcp2 = await mcpSession(resource, { authorization: `Bearer ${stepped.access_token}` });
  const ok = await mcp2.call('tools/call', { name: 'delete_everything', arguments: {} });
  t.equal(ok.status, 200);
  t.match(JSON.stringify(await readRpc(ok)), 'nothing deleted');
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const browser = await mcpSession(resource, { cookie });
  t.equal(
    (await browser.call('tools/call', { name: 'delete_everything', arguments: {} })).status,
    200,
    'browser sessions carry no scopes and are not stepped up',
  );
});

t.test('dry-run: denials are logged, not enforced', async (t) => {
  const stack = await startStack({
    consent: false,
    proxy: { policy: { mode: 'dry-run' } },
    backends: (url) => [{ name: 'tickets', http: { url }, allow: { groups: ['nobody'] }, tools: [{ match: 'echo' }] }],
  });
  t.teardown(() => stack.close());
  const { proxy } = stack;
  const { cookie } = await loginThroughProxy(proxy.url, 'bob');
  const mcp = await mcpSession(`${proxy.url}/mcp/tickets`, { cookie });
  const list = await readRpc(await mcp.call('tools/list'));
  t.ok(
    list.result.tools.some((x: any) => x.name === 'delete_everything'),
    'lists are not filtered',
  );
  const res = await mcp.call('tools/call', { name: 'delete_everything', arguments: {} });
  t.equal(res.status, 200);
  t.match(JSON.stringify(await readRpc(res)), 'nothing deleted');
  await new Promise((r) => setTimeout(r, 50));
  const line = proxy.logs().find((l: any) => l.audit && l.name === 'delete_everything') as any;
  t.equal(line.decision, 'deny', 'the would-be denial is audited');
  t.equal(line.dryRun, true);
});

t.test('tenants from the email domain reach the backend and rules', async (t) => {
  const stack = await startStack({
    consent: false,
    proxy: { tenants: { domains: { 'example.com': 'acme' }, default: 'public' } },
    backends: (url) => [{ name: 'acme-only', http: { url }, allow: { tenants: ['acme'] } }],
  });
  t.teardown(() => stack.close());
  const { proxy } = stack;
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const status = (await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as any;
  t.equal(status.user.tenant, 'acme');
  const mcp = await mcpSession(`${proxy.url}/mcp/acme-only`, { cookie });
  const who = (await readRpc(await mcp.call('tools/call', { name: 'whoami', arguments: {} }))).result.structuredContent;
  t.equal(who.tenant, 'acme', 'X-Forwarded-Tenant');
  t.equal(who.assertion.claims.tenant, 'acme', 'assertion');
});

t.test('rate limits: 429 with Retry-After and a JSON-RPC body; unauthenticated login endpoint too', async (t) => {
  const stack = await startStack({
    consent: false,
    proxy: { rateLimit: { login: { max: 3, window: '1m' } } },
    backends: (url) => [{ name: 'demo', http: { url }, rateLimit: { max: 4, window: '1m' } }],
  });
  t.teardown(() => stack.close());
  const { proxy } = stack;
  const alice = (await loginThroughProxy(proxy.url, 'alice')).cookie;
  const bob = (await loginThroughProxy(proxy.url, 'bob')).cookie;
  const mcp = await mcpSession(`${proxy.url}/mcp/demo`, { cookie: alice }); // initialize + initialized = 2
  t.equal((await mcp.call('tools/list')).status, 200);
  t.equal((await mcp.call('tools/list')).status, 200);
  const over = await mcp.call('tools/list');
  t.equal(over.status, 429);
  t.ok(Number(over.headers.get('retry-after')) > 0, 'Retry-After');
  const body = (await over.json()) as any;
  t.equal(body.jsonrpc, '2.0');
  t.match(body.error.message, /too many requests/);
  t.equal(
    await mcpSession(`${proxy.url}/mcp/demo`, { cookie: bob }).then(
      () => 200,
      () => 429,
    ),
    200,
    'another user has their own budget',
  );
  const statuses = [];
  for (let i = 0; i < 2; i++) statuses.push((await fetch(`${proxy.url}/oauth/login`, { redirect: 'manual' })).status);
  t.same(statuses, [302, 429], '/oauth/login: 2 logins above already counted, the 4th is refused');
});

t.test('audit lines can go to their own file, with the OAuth client id', async (t) => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.log');
  const stack = await startStack({ consent: false, proxy: { audit: { file, arguments: true } } });
  const { proxy } = stack;
  const tok = await bearerFor(proxy.url, `${proxy.url}/mcp/demo`, 'mcp');
  const mcp = await mcpSession(`${proxy.url}/mcp/demo`, { authorization: `Bearer ${tok.access_token}` });
  await readRpc(await mcp.call('tools/list'));
  await readRpc(
    await mcp.call('tools/call', {
      name: 'echo',
      arguments: { text: 'hello', nested: { password: 'hunter2', Token: 'x' } },
    }),
  );
  await new Promise((r) => setTimeout(r, 50)); // the audit line is written when the response closes
  await stack.close();
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    lines.map((l) => l.method),
    ['initialize', 'tools/list', 'tools/call'],
    'one line per request (notifications are not requests)',
  );
  t.same(
    lines[2].arguments,
    { text: 'hello', nested: { password: '[redacted]', Token: '[redacted]' } },
    'arguments included on request, secrets redacted',
  );
  t.notMatch(readFileSync(file, 'utf8'), 'hunter2');
  t.ok(lines.every((l) => l.audit === true));
  const list = lines.find((l) => l.method === 'tools/list');
  t.equal(list.principal.source, 'bearer');
  t.match(list.principal.clientId, /\S+/, 'the OAuth client id');
  t.notOk(
    proxy.logs().some((l: any) => l.audit),
    'not mixed into the debug log',
  );
});
