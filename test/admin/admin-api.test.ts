/**
 * The admin API (/admin/api/*, DESIGN.md §13) against real parts: the proxy's authorization server
 * (oidc-provider) with a DCR client and its grant, browser sessions logged in through the test IdP,
 * an upstream connection to an OAuth-protected backend (its own oidc-provider), API keys.
 * The 401/403/200 matrix, CSRF and Origin for cookie writes, revocations that take effect
 * (tokens refused within 5 s, an ended session's cookie refused) and the audit lines.
 */
import { PassThrough } from 'node:stream';
import t from 'tap';
import { startOAuthBackend } from '../helpers/backend-as.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { codeFlowTokens, register, tokenRequest } from '../helpers/oauth-manual.js';
import { INITIALIZE, loginThroughProxy, MCP_ACCEPT, readRpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { formatLine } from '../../src/observability/pretty.js';

const OPS_KEY = 'ops-key-0123456789abcdef0123456789';
const BOT_KEY = 'bot-key-0123456789abcdef0123456789';
const auditLines: Array<Record<string, any>> = [];
const audit = new PassThrough();
audit.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n')) if (line.trim()) auditLines.push(JSON.parse(line));
});

const be = await startOAuthBackend({ consent: false });
const stack = await startStack({
  consent: false,
  backends: (demo) => [
    { name: 'demo', http: { url: demo } },
    { name: 'gh', http: { url: be.mcp.url }, upstream: { kind: 'oauth', scopes: ['read'] } },
  ],
  proxy: {
    admin: { groups: ['admin'] },
    apiKeys: [
      { name: 'ops', sha256: hashApiKey(OPS_KEY), subject: 'svc:ops', groups: ['admin'] },
      { name: 'bot', sha256: hashApiKey(BOT_KEY), subject: 'svc:bot', groups: ['bots'] },
      { name: 'idle', sha256: hashApiKey('idle-key-never-presented-0123456'), subject: 'svc:idle' },
    ],
  },
  deps: { auditStream: audit },
});
t.teardown(async () => {
  await stack.close();
  await be.close();
});
const { proxy } = stack;
const demo = `${proxy.url}/mcp/demo`;
const REDIRECT = 'http://127.0.0.1:33418/callback';

const alice = await loginThroughProxy(proxy.url, 'alice'); // in group admin
const bob = await loginThroughProxy(proxy.url, 'bob'); // not
const csrfOf = async (cookie: string) =>
  ((await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as { csrfToken: string })
    .csrfToken;
const aliceCsrf = await csrfOf(alice.cookie);

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}${path}`, { headers, redirect: 'manual' });
/** A DELETE as the admin page sends it: alice's cookie, her CSRF token, this origin. */
const adminDelete = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}${path}`, {
    method: 'DELETE',
    headers: { cookie: alice.cookie, 'x-csrf-token': aliceCsrf, origin: proxy.url, ...headers },
  });
const asOps = { 'x-api-key': OPS_KEY };
const json = async (res: Response) => (await res.json()) as any;

/** A DCR client and bob's grant to it (the code flow, headless): its tokens. */
async function clientWithGrant(name: string) {
  const { meta, client } = await register(proxy.url, REDIRECT, { client_name: name });
  const tokens = await codeFlowTokens(meta, {
    clientId: client.client_id,
    redirect: REDIRECT,
    resource: demo,
    user: 'bob',
  });
  if (tokens.status !== 200) throw new Error(`token: ${tokens.status} ${JSON.stringify(tokens.body)}`);
  return { meta, clientId: client.client_id, ...tokens.body } as {
    meta: Record<string, string>;
    clientId: string;
    access_token: string;
    refresh_token?: string;
  };
}

/** The status /mcp/demo answers an initialize with this access token. */
const mcpStatus = async (token: string) => {
  const res = await fetch(demo, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  await res.arrayBuffer();
  return res.status;
};

/** Polls until `check` holds or `ms` pass (no fixed sleep): how long it took, or -1. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setImmediate(r));
  }
  return -1;
}

t.test('who may: anonymous 401 (API) or login (page), non-admins 403, admins 200', async (t) => {
  const anon = await get('/admin/api/clients');
  t.equal(anon.status, 401);
  t.equal((await json(anon)).error.code, 'UNAUTHENTICATED');
  const anonHtml = await get('/admin/api/sessions?user=x', { accept: 'text/html' });
  t.equal(anonHtml.status, 401, 'the API is 401 even for a browser');
  await anonHtml.arrayBuffer();
  const page = await get('/admin', { accept: 'text/html' });
  t.equal(page.status, 302);
  t.equal(page.headers.get('location'), '/oauth/login?returnTo=%2Fadmin');
  for (const path of ['/admin/api/clients', '/admin/api/keys', '/admin/api/grants?user=bob', '/admin']) {
    const asBob = await get(path, { cookie: bob.cookie, accept: path === '/admin' ? 'text/html' : '*/*' });
    t.equal(asBob.status, 403, `bob (not in admin.groups): 403 on ${path}`);
    await asBob.arrayBuffer();
    const asBot = await get(path, { 'x-api-key': BOT_KEY });
    t.equal(asBot.status, 403, `an API key outside admin.groups: 403 on ${path}`);
    await asBot.arrayBuffer();
  }
  const bobDelete = await fetch(`${proxy.url}/admin/api/sessions/anything`, {
    method: 'DELETE',
    headers: { cookie: bob.cookie, 'x-csrf-token': await csrfOf(bob.cookie), origin: proxy.url },
  });
  t.equal(bobDelete.status, 403, 'a non-admin write: 403');
  t.equal((await json(bobDelete)).error.code, 'FORBIDDEN');
  for (const headers of [{ cookie: alice.cookie }, asOps]) {
    const res = await get('/admin/api/clients', headers);
    t.equal(res.status, 200, `admin by ${Object.keys(headers)[0]}: 200`);
    t.ok(Array.isArray((await json(res)).clients));
  }
  const html = await get('/admin', { cookie: alice.cookie, accept: 'text/html' });
  t.equal(html.status, 200);
  t.match(html.headers.get('content-type'), /text\/html/);
  t.match(await html.text(), /<h1>Administration<\/h1>/);
  const unknown = await get('/admin/api/nope', asOps);
  t.equal(unknown.status, 404);
  await unknown.arrayBuffer();
  t.equal((await get('/admin/api/grants', asOps)).status, 400, 'grants name a user');
});

t.test('clients: listed with their grants; a deleted client takes its grants, its tokens refused in 5 s', async (t) => {
  const c = await clientWithGrant('admin-test-client');
  t.equal(await mcpStatus(c.access_token), 200, "the client's token works");
  t.ok(c.refresh_token, 'and it has a refresh token');
  const clients = (await json(await get('/admin/api/clients', asOps))).clients as any[];
  const listed = clients.find((x) => x.id === c.clientId);
  t.match(listed, { id: c.clientId, kind: 'registered', name: 'admin-test-client', redirectUris: [REDIRECT] });
  const grants = (await json(await get(`/admin/api/grants?user=bob`, asOps))).grants as any[];
  const grant = grants.find((g) => g.clientId === c.clientId);
  t.match(grant, { user: 'bob', clientId: c.clientId, resources: [demo] });
  t.ok(grant.scopes.includes('mcp'));
  const byClient = (await json(await get(`/admin/api/grants?client=${encodeURIComponent(c.clientId)}`, asOps))).grants;
  t.same(
    byClient.map((g: any) => g.id),
    [grant.id],
    'grants by client',
  );

  // Cookie writes: the CSRF token and a same-origin Origin are both required.
  const path = `/admin/api/clients/${encodeURIComponent(c.clientId)}`;
  const noCsrf = await adminDelete(path, { 'x-csrf-token': '' });
  t.equal(noCsrf.status, 403);
  t.equal((await json(noCsrf)).error.code, 'CSRF_FAILED');
  const wrongCsrf = await adminDelete(path, { 'x-csrf-token': 'x'.repeat(aliceCsrf.length) });
  t.equal((await json(wrongCsrf)).error.code, 'CSRF_FAILED');
  const noOrigin = await fetch(`${proxy.url}${path}`, {
    method: 'DELETE',
    headers: { cookie: alice.cookie, 'x-csrf-token': aliceCsrf },
  });
  t.equal(noOrigin.status, 403, 'no Origin: refused');
  t.equal((await json(noOrigin)).error.code, 'ORIGIN_FORBIDDEN');
  const foreign = await adminDelete(path, { origin: 'http://evil.example' });
  t.equal(foreign.status, 403, 'a foreign Origin: refused');
  await foreign.arrayBuffer();
  t.equal(await mcpStatus(c.access_token), 200, 'nothing was deleted by the refused requests');

  const res = await adminDelete(path);
  t.equal(res.status, 200);
  t.same(await json(res), { id: c.clientId, deleted: true, grants: 1 });
  const took = await within(5000, async () => (await mcpStatus(c.access_token)) === 401);
  t.ok(took >= 0, `its access token is refused within 5 s (${took} ms)`);
  const refresh = await tokenRequest(c.meta, {
    grant_type: 'refresh_token',
    refresh_token: c.refresh_token ?? 'none',
    client_id: c.clientId,
  });
  t.equal(refresh.status, 401, 'the client is unknown at the token endpoint');
  t.equal(refresh.body.error, 'invalid_client');
  t.notOk(
    ((await json(await get('/admin/api/clients', asOps))).clients as any[]).some((x) => x.id === c.clientId),
    'no longer listed',
  );
  t.notOk(
    ((await json(await get('/admin/api/grants?user=bob', asOps))).grants as any[]).some((g) => g.id === grant.id),
    'its grant is gone',
  );
  const again = await adminDelete(path);
  t.equal(again.status, 404, 'deleting it again: 404');
  await again.arrayBuffer();
  const line = auditLines.find((l) => l.admin && l.action === 'client.delete' && l.result === 'done');
  t.match(line, {
    audit: true,
    target: c.clientId,
    principal: { sub: 'alice', source: 'session' },
    detail: { grants: 1 },
  });
  t.match(
    formatLine(line ?? {}),
    new RegExp(`AUDIT ADMIN alice@example\\.com client\\.delete ${c.clientId} done {2}.*detail=\\{"grants":1\\}`),
    'pretty: who, what, which id',
  );
  t.ok(
    auditLines.some((l) => l.admin && l.result === 'refused' && l.principal.sub === 'alice'),
    'refused writes are audited too',
  );
  t.match(
    auditLines.find((l) => l.admin && l.result === 'refused' && l.principal.sub === 'bob'),
    { action: 'DELETE', target: 'sessions/anything', detail: { code: 'FORBIDDEN' } },
    "bob's refused write is audited",
  );
  t.match(
    auditLines.find((l) => l.admin && l.result === 'refused' && l.detail?.code === 'ORIGIN_FORBIDDEN'),
    { action: 'DELETE', target: `clients/${encodeURIComponent(c.clientId)}`, principal: { sub: 'alice' } },
  );
});

t.test('grants: one revoked by an admin API key (no CSRF for non-cookie callers)', async (t) => {
  const c = await clientWithGrant('grant-test-client');
  const grant = ((await json(await get('/admin/api/grants?user=bob', asOps))).grants as any[]).find(
    (g) => g.clientId === c.clientId,
  );
  t.ok(grant, 'listed');
  const res = await fetch(`${proxy.url}/admin/api/grants/${grant.id}`, { method: 'DELETE', headers: asOps });
  t.equal(res.status, 200);
  t.same(await json(res), { id: grant.id, deleted: true });
  const took = await within(5000, async () => (await mcpStatus(c.access_token)) === 401);
  t.ok(took >= 0, `the grant's access token is refused within 5 s (${took} ms)`);
  t.ok(
    ((await json(await get('/admin/api/clients', asOps))).clients as any[]).some((x) => x.id === c.clientId),
    'the client itself stays',
  );
  const refresh = await tokenRequest(c.meta, {
    grant_type: 'refresh_token',
    refresh_token: c.refresh_token ?? 'none',
    client_id: c.clientId,
  });
  t.equal(refresh.status, 400, "the grant's refresh token is dead");
  t.equal(refresh.body.error, 'invalid_grant');
  t.match(
    auditLines.find((l) => l.admin && l.action === 'grant.delete'),
    { target: grant.id, result: 'done', principal: { sub: 'svc:ops', source: 'apikey', apiKey: 'ops' } },
  );
});

t.test('sessions: listed per user; an ended session is refused at its next request', async (t) => {
  const login = async (ua: string) => {
    const jar = new CookieJar();
    await headlessLogin({
      startUrl: `${proxy.url}/oauth/login`,
      username: 'bob',
      password: 'bob',
      jar,
      headers: { 'user-agent': ua },
    });
    return jar.header(`${proxy.url}/`)!;
  };
  const one = await login('bob-browser-one');
  const two = await login('bob-browser-two');
  const sessions = (await json(await get('/admin/api/sessions?user=bob', { cookie: alice.cookie }))).sessions as any[];
  const s1 = sessions.find((s) => s.userAgent === 'bob-browser-one');
  const s2 = sessions.find((s) => s.userAgent === 'bob-browser-two');
  t.ok(s1 && s2, 'both browser sessions listed');
  t.match(s1, { user: 'bob', current: false, createdAt: String, expiresAt: String });
  t.ok(sessions.every((s) => s.user === 'bob'));
  const status = async (cookie: string) =>
    ((await json(await get('/oauth/status', { cookie }))) as { authenticated: boolean }).authenticated;
  t.equal(await status(one), true);

  const res = await adminDelete(`/admin/api/sessions/${s1.id}`);
  t.equal(res.status, 200);
  t.same(await json(res), { id: s1.id, ended: true });
  t.equal(await status(one), false, 'the ended session is refused at its next request');
  t.equal(await status(two), true, "bob's other session is untouched");
  const after = (await json(await get('/admin/api/sessions?user=bob', asOps))).sessions as any[];
  t.notOk(
    after.some((s) => s.id === s1.id),
    'no longer listed',
  );
  t.ok(after.some((s) => s.id === s2.id));
  const again = await adminDelete(`/admin/api/sessions/${s1.id}`);
  t.equal(again.status, 404);
  await again.arrayBuffer();
  const mine = (await json(await get('/admin/api/sessions?user=alice', { cookie: alice.cookie }))).sessions as any[];
  t.ok(
    mine.some((s) => s.current),
    "the admin's own session is marked current",
  );
  t.match(
    auditLines.find((l) => l.admin && l.action === 'session.end'),
    { target: s1.id, result: 'done', principal: { sub: 'alice' }, detail: { user: 'bob' } },
  );
});

t.test('connections: listed per user, removed and revoked upstream', async (t) => {
  // alice connects her account at gh: the URL elicitation, then the browser part (headless).
  const first = await fetch(`${proxy.url}/mcp/gh`, {
    method: 'POST',
    headers: { cookie: alice.cookie, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  const link = (await readRpc(first)).error.data.elicitations[0].url as string;
  await headlessLogin({ startUrl: link, username: 'alice', password: 'alice', jar: alice.jar });
  const listed = (await json(await get('/admin/api/connections?user=alice', asOps))).connections as any[];
  t.equal(listed.length, 1);
  t.match(listed[0], { id: 'alice/gh', user: 'alice', backend: 'gh', scopes: ['read'], connectedAt: String });
  t.same((await json(await get('/admin/api/connections?user=bob', asOps))).connections, [], 'bob has none');

  const before = be.as.counters.revocations.length;
  const res = await adminDelete('/admin/api/connections/alice/gh');
  t.equal(res.status, 200);
  t.same(await json(res), { id: 'alice/gh', removed: true });
  t.ok(be.as.counters.revocations.length > before, 'revoked at the backend authorization server');
  t.same((await json(await get('/admin/api/connections?user=alice', asOps))).connections, []);
  const own = (await json(await get('/api/connections', { cookie: alice.cookie }))).connections as any[];
  t.equal(own.find((c) => c.backend === 'gh').connected, false, 'alice sees herself disconnected');
  const notOauth = await adminDelete('/admin/api/connections/alice/demo');
  t.equal(notOauth.status, 400);
  await notOauth.arrayBuffer();
  const gone = await adminDelete('/admin/api/connections/alice/gh');
  t.equal(gone.status, 404);
  await gone.arrayBuffer();
  t.match(
    auditLines.find((l) => l.admin && l.action === 'connection.delete' && l.result === 'done'),
    { target: 'alice/gh', principal: { sub: 'alice' } },
  );
});

t.test('keys: API keys with subject, groups and last use; no secret', async (t) => {
  const res = await get('/admin/api/keys', { cookie: alice.cookie });
  t.equal(res.status, 200);
  const text = await res.text();
  for (const k of [OPS_KEY, BOT_KEY]) {
    t.notOk(text.includes(k), 'no key');
    t.notOk(text.includes(hashApiKey(k)), 'no key digest');
  }
  const keys = JSON.parse(text).keys as any[];
  t.same(
    keys.map((k) => k.id),
    ['apikey:ops', 'apikey:bot', 'apikey:idle'],
  );
  t.match(keys[0], { kind: 'apiKey', name: 'ops', subject: 'svc:ops', groups: ['admin'], lastUsed: String });
  t.ok(Date.now() - Date.parse(keys[0].lastUsed) < 10 * 60_000, 'ops was used during this test');
  t.equal(keys[2].lastUsed, null, 'a key never presented');
});
