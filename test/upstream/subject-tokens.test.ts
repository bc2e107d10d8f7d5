// Whose token a tokenExchange trades (DESIGN.md §10): an MCP client of the proxy's authorization
// server uses the upstream login its user did in the grant's interaction (kept with the grant,
// refreshed on its own once the browser session is gone, deleted with the grant); an external JWT
// of the exchange's IdP is itself the subject (never logged, never forwarded); an API key and a JWT
// of another issuer get a clear error naming the backend and why. All at the real test IdP, the
// proxy's store a real Redis (the grants' logins sealed there).
import t from 'tap';
import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { RedisStore } from '../../src/store/redis.js';
import { Sealer } from '../../src/store/sealed.js';
import { grantTokensKey, loginTokensKey } from '../../src/upstream/grant-tokens.js';
import { apiKey, postRecorded, startRecorder } from '../helpers/hostile.js';
import { CookieJar } from '../helpers/login.js';
import { codeFlowTokens, register, tokenRequest } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/db-servers.js';
import { startProxy, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { INITIALIZE, loginThroughProxy, logoutThroughProxy, rpc } from '../helpers/session-client.js';
import { CLIENT_ID, CLIENT_SECRET, startIdpFor } from '../helpers/stack.js';
import { addTokenExchange, TOKEN_EXCHANGE } from '../helpers/upstream-idp.js';

const REDIRECT = 'http://127.0.0.1:33418/callback';
const OTHER_ISSUER = 'https://other-idp.example.com';

// JWT access tokens "of the IdP" (signed with a key its token exchange trusts, see upstream-idp.ts).
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-at-1', alg: 'ES256', use: 'sig' };
const jwksServer = createServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
);
await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;

const rec = await startRecorder();
const key = apiKey('robot', 'robot');
/** The Redis store, telling when a key is deleted (grant events are handled after the AS answered). */
class WatchedStore extends RedisStore {
  private readonly waiters = new Map<string, () => void>();
  override async delete(key: string): Promise<void> {
    await super.delete(key);
    this.waiters.get(key)?.();
  }
  /** Resolves once `key` is absent. */
  async gone(key: string): Promise<void> {
    const done = new Promise<void>((resolve) => this.waiters.set(key, resolve));
    if ((await this.get(key)) === undefined) return;
    await done;
  }
}
const redis = await startRedis();
const store = new WatchedStore(redis.url, new Sealer([TEST_SESSION_KEY]));
const auditText: string[] = [];
const audit = new PassThrough();
audit.on('data', (c: Buffer) => auditText.push(c.toString()));

const port = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
const crmUrl = `${publicUrl}/mcp/crm`;
// Upstream access tokens live 30 s: always within the refresh margin, so each use refreshes them.
const idp = await startIdpFor(publicUrl, {
  consent: false,
  ttl: { AccessToken: 30 },
  client: { grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] },
});
const exchanges = addTokenExchange(idp.provider, { jwtKeys: { keys: [jwk] } });
let refreshes = 0;
idp.provider.on('grant.success', (ctx: any) => {
  if (ctx?.oidc?.params?.grant_type === 'refresh_token') refreshes++;
});
const proxy = await startProxy(
  {
    server: { port, publicUrl },
    oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    store: { kind: 'redis', url: redis.url },
    apiKeys: [key.config],
    externalTokens: {
      jwt: [
        { issuer: idp.issuer, audience: [crmUrl], jwksUri },
        { issuer: OTHER_ISSUER, audience: [crmUrl], jwksUri },
      ],
    },
    backends: [
      {
        name: 'crm',
        http: { url: rec.url },
        upstream: { kind: 'tokenExchange', audience: 'api://crm', scopes: ['crm.read'] },
      },
    ],
  },
  { store, auditStream: audit },
);
t.teardown(async () => {
  await proxy.close();
  await idp.close();
  await rec.close();
  jwksServer.close();
  await redis.close();
});

const idpClientAuth = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const post = (headers: Record<string, string>, body = INITIALIZE) => postRecorded(rec, crmUrl, headers, body);
const grantRef = (gid: string) => store.get<any>(grantTokensKey(gid));
/** The upstream login a grant uses (undefined: none). */
const grantLogin = async (gid: string) => {
  const ref = await grantRef(gid);
  return ref && store.get<any>(loginTokensKey(ref.login));
};
const jwtFor = (sub: string, iss = idp.issuer) =>
  new SignJWT({ scope: 'mcp' })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-at-1' })
    .setIssuer(iss)
    .setSubject(sub)
    .setAudience(crmUrl)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);

const { meta, client } = await register(publicUrl, REDIRECT);
/** An MCP client's whole authorization for /mcp/crm, the user logging in at the IdP in `jar`. */
const authorize = async (user: string, jar = new CookieJar(), clientId = client.client_id) => {
  const tok = await codeFlowTokens(meta, {
    clientId,
    redirect: REDIRECT,
    resource: crmUrl,
    user,
    jar,
  });
  if (tok.status !== 200) throw new Error(`token request: ${tok.status} ${JSON.stringify(tok.body)}`);
  return {
    jar,
    at: tok.body.access_token!,
    rt: tok.body.refresh_token!,
    gid: String(decodeJwt(tok.body.access_token!).gid),
  };
};

const alice = await authorize('alice');

t.test("an MCP client of the proxy's AS: the token exchanged from its login's upstream token", async (t) => {
  const ref = await grantRef(alice.gid);
  t.equal(ref?.sub, 'alice', 'the grant is tied to a login, under the grant id');
  t.ok(ref?.login, 'the browser session it was made in');
  const kept = await grantLogin(alice.gid);
  t.equal(kept?.sub, 'alice');
  t.same(kept?.grants, [alice.gid]);
  t.notOk(kept?.alone, 'the browser session still has it');
  t.ok(kept?.tokens?.accessToken);

  const r = await post({ authorization: `Bearer ${alice.at}` });
  t.equal(r.status, 200);
  t.ok(r.json.result, 'the backend answered');
  const x = exchanges.at(-1)!;
  t.equal(x.accountId, 'alice');
  t.equal(x.clientId, CLIENT_ID, "exchanged by the proxy's client at the IdP");
  t.equal(
    x.subjectToken,
    (await grantLogin(alice.gid)).tokens.accessToken,
    "the subject is the grant's upstream token",
  );
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${x.token}`);
  t.notOk(JSON.stringify(r.seen[0]!.headers).includes(alice.at), "the client's own token is not forwarded");
  t.notOk(JSON.stringify(r.seen[0]!.headers).includes(x.subjectToken), 'nor the upstream login token');

  // In Redis, keys are hashed and values sealed: no token in clear at rest.
  const raw: string[] = [];
  for (const k of await store.client.keys('*')) raw.push(k, String(await store.client.get(k).catch(() => '')));
  t.ok(raw.length > 0);
  const held = await grantLogin(alice.gid);
  t.notOk(
    raw.some(
      (v) => v.includes(held.tokens.accessToken) || v.includes(held.tokens.refreshToken) || v.includes(alice.gid),
    ),
    'neither the grant id nor its upstream tokens readable in Redis',
  );
});

t.test('the browser session ends: the grant holds its login alone and refreshes it itself', async (t) => {
  const before = (await grantLogin(alice.gid)).tokens;
  const out = await logoutThroughProxy(publicUrl, alice.jar.header(`${publicUrl}/`) ?? '');
  t.equal(out.status, 200, 'logged out of the proxy in that browser');
  const refreshed = refreshes;
  const r = await post({ authorization: `Bearer ${alice.at}` }, rpc('tools/list', {}, 2));
  t.equal(r.status, 200);
  t.ok(r.json.result);
  const kept = await grantLogin(alice.gid);
  t.ok(kept.alone, 'the session ended: the grant holds the login alone');
  t.ok(refreshes > refreshed, 'refreshed at the IdP');
  t.not(kept.tokens.accessToken, before.accessToken, 'a new upstream access token');
  const x = exchanges.at(-1)!;
  t.equal(x.subjectToken, kept.tokens.accessToken, 'the refreshed token is the subject');
  t.equal(x.accountId, 'alice');
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${x.token}`);
});

t.test('revoking the grant, or logging out everywhere, deletes its login', async (t) => {
  const second = await authorize('alice');
  t.ok(await grantLogin(second.gid));
  // Another MCP client let in from the same browser session shares that login (one refresh chain).
  const { client: other } = await register(publicUrl, REDIRECT);
  const twin = await authorize('alice', second.jar, other.client_id);
  t.not(twin.gid, second.gid);
  t.equal((await grantRef(twin.gid)).login, (await grantRef(second.gid)).login, 'one login, two grants');
  t.same((await grantLogin(twin.gid)).grants, [second.gid, twin.gid]);
  const rev = await fetch(meta.revocation_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: second.rt, client_id: client.client_id }),
  });
  t.equal(rev.status, 200);
  await store.gone(grantTokensKey(second.gid));
  t.pass('revoked at the revocation endpoint: gone');
  t.same((await grantLogin(twin.gid)).grants, [twin.gid], 'the other grant keeps the login');
  const twinUse = await post({ authorization: `Bearer ${twin.at}` }, rpc('tools/list', {}, 4));
  t.ok(twinUse.json.result, 'and still works');

  const bob = await authorize('bob');
  t.ok(await grantLogin(bob.gid));
  const bobLogin = (await grantRef(bob.gid)).login;
  const session = await loginThroughProxy(publicUrl, 'bob');
  const out = await logoutThroughProxy(publicUrl, session.cookie, { everywhere: true });
  t.equal(out.status, 200);
  t.equal(await grantLogin(bob.gid), undefined, 'log out everywhere: gone');
  t.equal(await store.get(loginTokensKey(bobLogin)), undefined, 'the login too (its last grant)');
  t.equal((await post({ authorization: `Bearer ${bob.at}` })).status, 401, 'and the grant with it');
  t.ok(await grantLogin(alice.gid), "another user's grant is untouched");
});

t.test('a refresh token reuse at the AS (the grant revoked by reuse detection) deletes it too', async (t) => {
  const third = await authorize('alice');
  const refresh = { grant_type: 'refresh_token', refresh_token: third.rt, client_id: client.client_id };
  t.equal((await tokenRequest(meta, refresh)).status, 200);
  t.equal((await tokenRequest(meta, refresh)).status, 400, 'the reused refresh token is refused');
  await store.gone(grantTokensKey(third.gid));
  t.pass('the grant revoked by reuse detection: its login reference gone');
});

t.test("an external JWT of the exchange's IdP is the subject token itself", async (t) => {
  const jwt = await jwtFor('carol');
  const before = exchanges.length;
  const r = await post({ authorization: `Bearer ${jwt}` });
  t.equal(r.status, 200);
  t.ok(r.json.result);
  t.equal(exchanges.length, before + 1);
  const x = exchanges.at(-1)!;
  t.equal(x.subjectToken, jwt);
  t.equal(x.accountId, 'carol');
  t.equal(x.params.subject_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${x.token}`);
  t.notOk(JSON.stringify(r.seen[0]!.headers).includes(jwt), 'the JWT never reaches the backend (nor the assertion)');
  t.equal(r.seen[0]!.headers['x-forwarded-user'], 'carol');
  await new Promise<void>((resolve) => {
    const done = () => {
      if (!auditText.join('').includes('"sub":"carol"')) return;
      audit.off('data', done);
      resolve();
    };
    audit.on('data', done);
    done();
  });
  t.notOk(auditText.join('').includes(jwt), 'not in the audit lines');
  t.notOk(JSON.stringify(proxy.logs()).includes(jwt), 'not in the log');
});

t.test('a JWT of another issuer, and an API key: a clear error naming the backend and why', async (t) => {
  const before = exchanges.length;
  const other = await post({ authorization: `Bearer ${await jwtFor('dave', OTHER_ISSUER)}` });
  t.equal(other.status, 200, 'a JSON-RPC answer');
  t.equal(other.json.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
  t.match(other.json.error.message, /backend "crm"/);
  t.match(other.json.error.message, new RegExp(`issued by ${idp.issuer}`));
  t.equal(other.seen.length, 0);

  const k = await post(key.headers);
  t.equal(k.json.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
  t.equal(k.json.error.data.backend, 'crm');
  t.match(k.json.error.message, /backend "crm" acts as the user.*an API key carries no user token/);
  t.equal(k.seen.length, 0);
  const rest = await fetch(`${publicUrl}/api/backends/crm/tools`, { headers: key.headers });
  t.equal(rest.status, 403);
  t.match(((await rest.json()) as any).error.message, /an API key carries no user token/);
  t.equal(exchanges.length, before, 'no exchange attempted');
  t.ok(proxy.logs().some((l) => l.event === 'upstream.no_subject_token' && l.source === 'apikey'));
});

t.test('the last grant of a login whose browser session ended: its refresh token is revoked at the IdP', async (t) => {
  const fourth = await authorize('bob');
  t.equal((await logoutThroughProxy(publicUrl, fourth.jar.header(`${publicUrl}/`) ?? '')).status, 200);
  const rt = (await grantLogin(fourth.gid)).tokens.refreshToken;
  const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as any;
  const active = async () =>
    (
      (await (
        await fetch(discovery.introspection_endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: idpClientAuth },
          body: new URLSearchParams({ token: rt }),
        })
      ).json()) as any
    ).active;
  t.equal(await active(), true, 'the browser logout left it alone: a grant holds it');
  // Log out everywhere from another browser: the grant is deleted, and nobody holds the login any more.
  const again = await loginThroughProxy(publicUrl, 'bob');
  t.equal((await logoutThroughProxy(publicUrl, again.cookie, { everywhere: true })).status, 200);
  t.equal(await grantRef(fourth.gid), undefined);
  t.equal(await active(), false, 'revoked at the IdP');
});

t.test("the IdP refuses to refresh a grant's login: it is forgotten, the client told to sign in again", async (t) => {
  const kept = await grantLogin(alice.gid);
  t.ok(kept.alone, 'the grant holds its login alone (its browser session ended above)');
  const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as any;
  const revoked = await fetch(discovery.revocation_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: idpClientAuth,
    },
    body: new URLSearchParams({ token: kept.tokens.refreshToken, token_type_hint: 'refresh_token' }),
  });
  t.equal(revoked.status, 200, 'revoked at the IdP');
  const r = await post({ authorization: `Bearer ${alice.at}` }, rpc('tools/list', {}, 3));
  t.equal(r.json.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
  t.match(r.json.error.message, /backend "crm".*sign in again from the MCP client/);
  t.equal(r.seen.length, 0, 'the backend heard nothing');
  t.equal(await grantLogin(alice.gid), undefined, 'the login is forgotten');
  t.ok(proxy.logs().some((l) => l.event === 'upstream.grant_login_ended'));
  const logs = JSON.stringify(proxy.logs());
  t.notOk(logs.includes(kept.tokens.refreshToken) || logs.includes(kept.tokens.accessToken), 'no token logged');
});
