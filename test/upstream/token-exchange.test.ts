// A backend with `upstream: {kind: tokenExchange}` receives `Authorization: Bearer <token>`
// exchanged (RFC 8693) at the real test IdP for the user's own upstream token: per user, cached,
// never the client's credential; principals without a browser login get a clear JSON-RPC error.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { apiKey, postRecorded, startRecorder } from '../helpers/hostile.js';
import { freePort } from '../helpers/ports.js';
import { INITIALIZE, loginThroughProxy, MCP_ACCEPT, rpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { addTokenExchange, TOKEN_EXCHANGE } from '../helpers/upstream-idp.js';

const rec = await startRecorder();
const key = apiKey('robot', 'robot');
const closedPort = await freePort(); // nothing listens there: the token endpoint is down
const auditLines: any[] = [];
const audit = new PassThrough();
audit.on('data', (c: Buffer) => {
  for (const l of c.toString().split('\n')) if (l.trim()) auditLines.push(JSON.parse(l));
});
/** Resolves once the audit lines satisfy `ok` (they are written when each response ends). */
const auditUntil = (ok: () => boolean) =>
  new Promise<void>((resolve) => {
    const check = () => {
      if (!ok()) return;
      audit.off('data', check);
      resolve();
    };
    audit.on('data', check);
    check();
  });
const stack = await startStack({
  consent: false,
  deps: { auditStream: audit },
  idpClient: () => ({ grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] }),
  backends: () => [
    {
      name: 'crm',
      http: { url: rec.url },
      upstream: { kind: 'tokenExchange', audience: 'api://crm', scopes: ['crm.read', 'crm.write'] },
    },
    { name: 'plain', http: { url: rec.url } },
    {
      name: 'down',
      http: { url: rec.url },
      upstream: {
        kind: 'tokenExchange',
        tokenEndpoint: `http://127.0.0.1:${closedPort}/token`,
        clientId: 'x',
        clientSecret: 'y',
      },
    },
    // The test IdP refuses to exchange ID tokens: the token endpoint's error is what gets logged.
    { name: 'idt', http: { url: rec.url }, upstream: { kind: 'tokenExchange', subjectToken: 'id_token' } },
  ],
  proxy: { apiKeys: [key.config] },
});
const exchanges = addTokenExchange(stack.idp.provider);
let exchangeGrants = 0;
stack.idp.provider.on('grant.success', (ctx: any) => {
  if (ctx?.oidc?.params?.grant_type === TOKEN_EXCHANGE) exchangeGrants++;
});
t.teardown(async () => {
  await stack.close();
  await rec.close();
});
const { proxy } = stack;

const post = (backend: string, headers: Record<string, string>, body = INITIALIZE) =>
  postRecorded(rec, `${proxy.url}/mcp/${backend}`, headers, body);

const alice = await loginThroughProxy(proxy.url, 'alice');
const bob = await loginThroughProxy(proxy.url, 'bob');

t.test("alice's request carries the token exchanged for alice, never her own credential", async (t) => {
  const r = await post('crm', { cookie: alice.cookie });
  t.equal(r.status, 200);
  t.ok(r.json.result, 'the backend answered');
  t.equal(r.seen.length, 1);
  t.equal(exchanges.length, 1, 'one exchange at the IdP');
  const x = exchanges[0]!;
  t.equal(x.accountId, 'alice');
  t.equal(x.audience, 'api://crm');
  t.equal(x.scope, 'crm.read crm.write');
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${x.token}`);
  t.not(x.token, x.subjectToken, 'a new token, not the subject token');
  t.notOk(r.seen[0]!.headers.cookie, 'the client cookie never reaches the backend');
  t.notOk(JSON.stringify(r.seen[0]!.headers).includes(x.subjectToken), "alice's own upstream token is not forwarded");
  t.equal(r.seen[0]!.headers['x-forwarded-user'], 'alice', 'identity headers still there');
  t.ok(r.seen[0]!.headers['x-mcp-proxy-assertion'], 'the assertion still there');
});

t.test('the second request uses the cached token', async (t) => {
  const before = exchangeGrants;
  const r = await post('crm', { cookie: alice.cookie }, rpc('tools/list', {}, 2));
  t.equal(r.status, 200);
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${exchanges[0]!.token}`);
  t.equal(exchangeGrants, before, 'no token endpoint call');
  t.equal(exchanges.length, 1);
});

t.test("bob's request carries bob's exchanged token, never alice's", async (t) => {
  const r = await post('crm', { cookie: bob.cookie });
  t.equal(r.status, 200);
  t.equal(exchanges.length, 2);
  const x = exchanges[1]!;
  t.equal(x.accountId, 'bob');
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${x.token}`);
  t.not(x.token, exchanges[0]!.token);
});

t.test('an API key has no subject token: a clear JSON-RPC error, the backend hears nothing', async (t) => {
  const r = await post('crm', key.headers);
  t.equal(r.status, 200, 'a JSON-RPC answer');
  t.equal(r.seen.length, 0, 'the backend heard nothing');
  t.equal(r.json.id, 1);
  t.equal(r.json.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
  t.equal(r.json.error.data.backend, 'crm');
  t.match(r.json.error.message, /backend "crm"/);
  t.equal(exchanges.length, 2, 'no exchange attempted');

  const rest = await fetch(`${proxy.url}/api/backends/crm/tools`, { headers: key.headers });
  t.equal(rest.status, 403, 'the REST API answers 403');
  t.equal(((await rest.json()) as any).error.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
});

t.test('the token endpoint down: a clear error naming the backend, other backends unaffected', async (t) => {
  const r = await post('down', { cookie: alice.cookie });
  t.equal(r.status, 200);
  t.equal(r.seen.length, 0, 'the backend heard nothing');
  t.equal(r.json.error.data.code, 'UPSTREAM_TOKEN_FAILED');
  t.match(r.json.error.message, /backend "down"/);
  const logged = proxy.logs().find((l) => l.event === 'upstream.token_failed' && l.backend === 'down');
  t.ok(logged, 'the failure is logged');
  t.equal(logged?.reason, 'ECONNREFUSED');

  const plain = await post('plain', { cookie: alice.cookie });
  t.equal(plain.status, 200);
  t.ok(plain.json.result);
  t.equal(plain.seen.length, 1);
  t.notOk(plain.seen[0]!.headers.authorization, 'a backend without upstream gets no Authorization');
  const crm = await post('crm', { cookie: alice.cookie }, rpc('tools/list', {}, 3));
  t.equal(crm.seen[0]!.headers.authorization, `Bearer ${exchanges[0]!.token}`, 'crm still works');
});

t.test("a refused exchange is logged with the token endpoint's error and error_description", async (t) => {
  const r = await post('idt', { cookie: alice.cookie });
  t.equal(r.json.error.data.code, 'UPSTREAM_TOKEN_FAILED');
  t.match(r.json.error.message, /backend "idt"/);
  t.equal(r.seen.length, 0);
  const logged = proxy.logs().find((l) => l.event === 'upstream.token_failed' && l.backend === 'idt');
  t.equal(logged?.error, 'invalid_request');
  t.match(String(logged?.error_description), /exchanges access tokens only/);
});

t.test('no token is ever logged; audit lines name the credential kind; metrics count', async (t) => {
  const logs = JSON.stringify(proxy.logs());
  for (const x of exchanges) {
    t.notOk(logs.includes(x.token), 'no exchanged token in the log');
    t.notOk(logs.includes(x.subjectToken), 'no subject token in the log');
  }
  const crmLines = () =>
    auditLines.filter((l) => l.backend === 'crm' && l.status === 200 && l.principal.source === 'session');
  await auditUntil(() => crmLines().length >= 4 && auditLines.some((l) => l.backend === 'plain'));
  const crm = crmLines();
  t.equal(crm.length, 4, "alice's three requests and bob's");
  t.ok(
    crm.every((l) => l.upstream === 'tokenExchange'),
    'upstream: tokenExchange',
  );
  t.notOk(JSON.stringify(auditLines).includes(exchanges[0]!.token));
  const plain = auditLines.find((l) => l.backend === 'plain');
  t.equal(plain?.upstream, undefined);
  t.equal(plain?.error, undefined, 'a forwarded call carries no error');
  // A call policy allowed but the proxy could not forward says why, not just "allow, 200".
  await auditUntil(() => auditLines.some((l) => l.backend === 'down'));
  t.equal(auditLines.find((l) => l.backend === 'down')?.error, 'UPSTREAM_TOKEN_FAILED', 'a failed exchange is audited');
  const unavailable = auditLines.find((l) => l.backend === 'crm' && l.principal.source === 'apikey');
  t.equal(unavailable?.error, 'UPSTREAM_TOKEN_UNAVAILABLE', 'no subject token is audited');

  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  const count = (result: string, backend = 'crm') =>
    Number(
      text.match(
        new RegExp(
          `mcp_proxy_upstream_tokens_total\\{backend="${backend}",kind="tokenExchange",result="${result}"\\} (\\d+)`,
        ),
      )?.[1],
    );
  t.equal(count('exchanged'), 2, 'alice and bob exchanged once each');
  t.ok(count('cached') >= 2, 'cached uses counted');
  t.ok(count('failed') >= 1, 'the API key refusal counted');
  t.equal(count('failed', 'down'), 1);
});

t.test('concurrent requests of one user share one exchange', async (t) => {
  const again = await loginThroughProxy(proxy.url, 'alice'); // a new session: a new subject token
  const before = exchanges.length;
  const send = (id: number) =>
    fetch(`${proxy.url}/mcp/crm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, cookie: again.cookie },
      body: rpc('tools/list', {}, id),
    }).then((r) => r.json() as Promise<any>);
  const answers = await Promise.all([send(11), send(12), send(13)]);
  t.ok(answers.every((a) => a.result));
  t.equal(exchanges.length, before + 1, 'one token endpoint call for the three requests');
  t.equal(exchanges.at(-1)!.accountId, 'alice');
});
