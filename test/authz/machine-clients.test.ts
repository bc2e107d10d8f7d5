// Machine clients of the authorization server (authorizationServer.clients, client_credentials): each
// client authentication method gets a token (openid-client) that reaches a backend as the configured
// principal; allow.clients; every refusal the token endpoint owes (invalid_client, unauthorized_client,
// invalid_scope, invalid_target); private_key_jwt assertions used once, on the memory store and across
// two replicas sharing a real Redis.
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { loadConfig } from '../../src/app/config.js';
import { startRedis } from '../helpers/db-servers.js';
import { postRecorded, startRecorder } from '../helpers/hostile.js';
import { startProxy, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { INITIALIZE } from '../helpers/session-client.js';
import { CLIENT_ID, CLIENT_SECRET, signingKeyFile, startStack } from '../helpers/stack.js';

const SECRET = 'nightly-secret-0123456789abcdef';
const OTHER_SECRET = 'plain-secret-0123456789abcdef';
const ci = await generateKeyPair('ES256', { extractable: true });
const inline = await generateKeyPair('RS256', { extractable: true });
const stranger = await generateKeyPair('ES256');
const ciJwk = { ...(await exportJWK(ci.publicKey)), kid: 'ci-1', alg: 'ES256', use: 'sig' };
const inlineJwk = { ...(await exportJWK(inline.publicKey)), kid: 'inline-1', alg: 'RS256', use: 'sig' };

// The private_key_jwt client's keys, on loopback (the operator's URL: no special-use-address guard for it).
let jwksFetches = 0;
const jwksServer = createServer((_req, res) => {
  jwksFetches++;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [ciJwk] }));
});
await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;

const clients = [
  { clientId: 'nightly', clientSecret: SECRET, scopes: ['mcp'], subject: 'svc:nightly', groups: ['bots', 'reports'] },
  { clientId: 'plain', clientSecret: OTHER_SECRET, scopes: ['mcp'] },
  { clientId: 'ci-agent', jwksUri, scopes: ['mcp', 'admin'], groups: ['ci'] },
  { clientId: 'inline-agent', jwks: { keys: [inlineJwk] }, scopes: ['mcp'], subject: 'svc:inline' },
];
const backends = (url: string) => [
  { name: 'rec', http: { url } },
  { name: 'ci-only', http: { url }, allow: { clients: ['ci-agent'] } },
  { name: 'admin', http: { url }, tools: [{ match: '*', scopes: ['admin'] }] },
  {
    name: 'xchg',
    http: { url },
    upstream: { kind: 'tokenExchange', audience: 'api://crm' },
  },
];

const rec = await startRecorder();
const stack = await startStack({
  consent: false,
  backends: () => backends(rec.url),
  proxy: { authorizationServer: { clients } },
});
t.teardown(async () => {
  await stack.close();
  await rec.close();
  jwksServer.close();
});
const base = stack.proxy.url;
const TOKEN = `${base}/token`;

/** openid-client against this proxy's authorization server, as `clientId` authenticating with `auth`. */
const discover = (clientId: string, auth: client.ClientAuth) =>
  client.discovery(new URL(base), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });

async function grant(clientId: string, auth: client.ClientAuth, backend = 'rec', scope = 'mcp') {
  const config = await discover(clientId, auth);
  return client.clientCredentialsGrant(config, { scope, resource: `${base}/mcp/${backend}` });
}

/** initialize at `/mcp/<backend>` with the token; what the backend saw and the assertion's claims. */
async function call(token: string, backend = 'rec') {
  const r = await postRecorded(rec, `${base}/mcp/${backend}`, { authorization: `Bearer ${token}` }, INITIALIZE);
  const seen = r.seen[0];
  const assertion = seen?.headers['x-mcp-proxy-assertion'];
  return { ...r, seen, claims: typeof assertion === 'string' ? decodeJwt(assertion) : undefined };
}

/** A private_key_jwt client assertion, with claims to override. */
function assertion(clientId: string, key: CryptoKey, alg: string, kid: string, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience((claims.aud as string) ?? base)
    .setIssuedAt(now)
    .setExpirationTime((claims.exp as number) ?? now + 60)
    .sign(key);
}

async function rawToken(params: Record<string, string>, headers: Record<string, string> = {}, url = TOKEN) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${base}/mcp/rec`, ...params }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
}
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});
const viaAssertion = (jwt: string) => ({
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: jwt,
});

function refused(t: Test, r: { status: number; body: Record<string, string> }, status: number, error: string) {
  t.equal(r.status, status, `${status} ${error}: ${JSON.stringify(r.body)}`);
  t.equal(r.body.error, error);
  t.notOk(r.body.access_token, 'no token');
}

t.test('metadata lists the grant, the client authentication methods and S256', async (t) => {
  const meta = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    string[]
  >;
  t.ok(meta.grant_types_supported!.includes('client_credentials'));
  for (const m of ['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
    t.ok(meta.token_endpoint_auth_methods_supported!.includes(m), m);
  t.notOk(meta.token_endpoint_auth_methods_supported!.includes('client_secret_jwt'), 'no shared-secret JWTs');
  t.same(meta.code_challenge_methods_supported, ['S256']);
});

t.test('client_secret_basic: the configured subject and groups reach the backend', async (t) => {
  const tokens = await grant('nightly', client.ClientSecretBasic(SECRET));
  t.equal(tokens.scope, 'mcp');
  const at = decodeJwt(tokens.access_token);
  t.equal(at.aud, `${base}/mcp/rec`, 'resource binds the audience');
  t.equal(at.sub, 'svc:nightly');
  t.equal(at.client_id, 'nightly');
  const r = await call(tokens.access_token);
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.equal(r.seen!.headers['x-forwarded-user'], 'svc:nightly');
  t.equal(r.seen!.headers['x-forwarded-groups'], 'bots,reports');
  t.equal(r.seen!.headers.authorization, undefined, 'the token is not forwarded');
  t.match(r.claims, { sub: 'svc:nightly', groups: ['bots', 'reports'], client_id: 'nightly', src: 'bearer' });
});

t.test('client_secret_post; no subject configured: client:<clientId>, no groups', async (t) => {
  const tokens = await grant('plain', client.ClientSecretPost(OTHER_SECRET));
  const r = await call(tokens.access_token);
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.equal(r.seen!.headers['x-forwarded-user'], 'client:plain');
  t.match(r.claims, { sub: 'client:plain', groups: [], client_id: 'plain' });
});

t.test('private_key_jwt with keys at a loopback jwksUri', async (t) => {
  const tokens = await grant('ci-agent', client.PrivateKeyJwt({ key: ci.privateKey, kid: 'ci-1' }));
  t.ok(jwksFetches > 0, 'the keys came from the jwksUri');
  const r = await call(tokens.access_token);
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.equal(r.seen!.headers['x-forwarded-user'], 'client:ci-agent');
  t.match(r.claims, { sub: 'client:ci-agent', groups: ['ci'], client_id: 'ci-agent' });
});

t.test('private_key_jwt with inline jwks', async (t) => {
  const tokens = await grant('inline-agent', client.PrivateKeyJwt({ key: inline.privateKey, kid: 'inline-1' }));
  const r = await call(tokens.access_token);
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.match(r.claims, { sub: 'svc:inline', client_id: 'inline-agent' });
});

t.test('token responses are not cached', async (t) => {
  const r = await rawToken({ scope: 'mcp' }, basic('nightly', SECRET));
  t.equal(r.status, 200);
  t.match(r.headers.get('cache-control'), /no-store/);
  const bad = await rawToken({ scope: 'mcp' }, basic('nightly', 'wrong-secret-0123456789'));
  t.match(bad.headers.get('cache-control'), /no-store/);
});

t.test('allow.clients admits the named client only', async (t) => {
  const ciToken = (await grant('ci-agent', client.PrivateKeyJwt({ key: ci.privateKey, kid: 'ci-1' }), 'ci-only'))
    .access_token;
  const ok = await call(ciToken, 'ci-only');
  t.equal(ok.status, 200, JSON.stringify(ok.json));
  t.equal(ok.seen!.headers['x-forwarded-user'], 'client:ci-agent');
  const other = (await grant('nightly', client.ClientSecretBasic(SECRET), 'ci-only')).access_token;
  const no = await call(other, 'ci-only');
  t.equal(no.status, 403, JSON.stringify(no.json));
  t.equal(no.seen, undefined, 'nothing reached the backend');
});

t.test('a token for one MCP endpoint is refused at another', async (t) => {
  const tokens = await grant('nightly', client.ClientSecretBasic(SECRET));
  const r = await call(tokens.access_token, 'ci-only');
  t.equal(r.status, 401);
  t.equal(r.seen, undefined);
});

t.test('tokenExchange backends: a machine token has no login to exchange', async (t) => {
  const tokens = await grant('nightly', client.ClientSecretBasic(SECRET), 'xchg');
  const r = await call(tokens.access_token, 'xchg');
  t.equal(r.json.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE', JSON.stringify(r.json));
  t.match(r.json.error.message, /machine client/);
  t.equal(r.seen, undefined);
});

t.test('scopes: a client gets what it is configured for, never more', async (t) => {
  // ci-agent has no secret: client_secret_basic is not its method.
  const wrongMethod = await rawToken({ scope: 'mcp admin', resource: `${base}/mcp/admin` }, basic('ci-agent', 'x'));
  refused(t, wrongMethod, 401, 'invalid_client');
  const ciJwt = () => assertion('ci-agent', ci.privateKey, 'ES256', 'ci-1');
  const ciAdmin = await rawToken({ scope: 'mcp admin', resource: `${base}/mcp/admin`, ...viaAssertion(await ciJwt()) });
  t.equal(ciAdmin.status, 200, JSON.stringify(ciAdmin.body));
  t.equal(ciAdmin.body.scope, 'mcp admin');
  const widened = await rawToken({ scope: 'mcp admin', resource: `${base}/mcp/admin` }, basic('nightly', SECRET));
  refused(t, widened, 400, 'invalid_scope');
  const unknown = await rawToken({ scope: 'mcp bogus' }, basic('nightly', SECRET));
  t.equal(unknown.body.scope, 'mcp', 'a scope the proxy does not offer is dropped');
  const omitted = await rawToken({}, basic('nightly', SECRET));
  t.equal(omitted.body.scope, 'mcp', "no scope asked: the client's scopes");
  const ciDefault = await rawToken({ resource: `${base}/mcp/admin`, ...viaAssertion(await ciJwt()) });
  t.equal(ciDefault.body.scope, 'mcp admin', "no scope asked: the client's scopes the resource offers");
  const ciElsewhere = await rawToken(viaAssertion(await ciJwt()));
  t.equal(ciElsewhere.body.scope, 'mcp', '(rec offers no admin scope)');
});

t.test('client authentication failures are 401 invalid_client', async (t) => {
  refused(t, await rawToken({ scope: 'mcp' }, basic('nightly', 'wrong-secret-0123456789')), 401, 'invalid_client');
  refused(t, await rawToken({ client_id: 'nightly', client_secret: 'wrong', scope: 'mcp' }), 401, 'invalid_client');
  refused(t, await rawToken({ scope: 'mcp' }, basic('nobody', SECRET)), 401, 'invalid_client');
  const jwtFor = (claims: Record<string, unknown>, key: CryptoKey = ci.privateKey) =>
    assertion('ci-agent', key, 'ES256', 'ci-1', claims);
  const cases: Array<[string, Promise<string>]> = [
    ['wrong audience', jwtFor({ aud: 'https://elsewhere.example/token' })],
    ['expired', jwtFor({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ['signed by another key', jwtFor({}, stranger.privateKey)],
    ['valid for more than an hour', jwtFor({ exp: Math.floor(Date.now() / 1000) + 7200 })],
    ['of an unknown client', assertion('nobody', ci.privateKey, 'ES256', 'ci-1')],
  ];
  for (const [what, jwt] of cases) {
    const r = await rawToken({ scope: 'mcp', ...viaAssertion(await jwt) });
    t.equal(r.status, 401, what);
    t.equal(r.body.error, 'invalid_client', what);
  }
});

t.test('a private_key_jwt assertion is used once', async (t) => {
  const jwt = await assertion('inline-agent', inline.privateKey, 'RS256', 'inline-1');
  const first = await rawToken({ scope: 'mcp', ...viaAssertion(jwt) });
  t.equal(first.status, 200, JSON.stringify(first.body));
  refused(t, await rawToken({ scope: 'mcp', ...viaAssertion(jwt) }), 401, 'invalid_client');
});

t.test('resource must be one of the MCP endpoints', async (t) => {
  for (const resource of [`${base}/api`, `${base}/mcp/nope`, 'https://elsewhere.example/mcp']) {
    refused(t, await rawToken({ scope: 'mcp', resource }, basic('nightly', SECRET)), 400, 'invalid_target');
  }
});

t.test('dynamically registered clients may not use client_credentials', async (t) => {
  const register = async (meta: Record<string, unknown>) => {
    const res = await fetch(`${base}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token_endpoint_auth_method: 'client_secret_basic', ...meta }),
    });
    t.equal(res.status, 201);
    return (await res.json()) as { client_id: string; client_secret: string };
  };
  const asked = await register({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
  refused(t, await rawToken({ scope: 'mcp' }, basic(asked.client_id, asked.client_secret)), 400, 'unauthorized_client');
  const usual = await register({ redirect_uris: ['http://127.0.0.1:9/cb'], scope: 'mcp' });
  refused(t, await rawToken({ scope: 'mcp' }, basic(usual.client_id, usual.client_secret)), 400, 'unauthorized_client');
});

t.test('Redis, two replicas: an assertion is used once across them, even when sent to both at once', async (t) => {
  const redis = await startRedis();
  const keyFile = await signingKeyFile();
  const recR = await startRecorder();
  const shared = {
    store: { kind: 'redis', url: redis.url },
    signing: { keyFile },
    authorizationServer: { clients },
  };
  const a = await startStack({ consent: false, backends: () => backends(recR.url), proxy: shared });
  const b = await startProxy({
    server: { publicUrl: a.proxy.url },
    oidc: { issuer: a.idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    backends: backends(recR.url),
    ...shared,
  });
  const bUrl = `http://127.0.0.1:${(b.app.server.address() as { port: number }).port}`;
  t.teardown(async () => {
    await b.close();
    await a.close();
    await recR.close();
    await redis.close();
  });
  const send = (url: string, jwt: string) =>
    rawToken({ scope: 'mcp', resource: `${a.proxy.url}/mcp/rec`, ...viaAssertion(jwt) }, {}, `${url}/token`);
  const jwt = await assertion('ci-agent', ci.privateKey, 'ES256', 'ci-1', { aud: a.proxy.url });
  const first = await send(a.proxy.url, jwt);
  t.equal(first.status, 200, JSON.stringify(first.body));
  refused(t, await send(bUrl, jwt), 401, 'invalid_client');
  refused(t, await send(a.proxy.url, jwt), 401, 'invalid_client');
  // The same fresh assertion at both replicas at once: the store's claim lets exactly one through.
  for (let i = 0; i < 5; i++) {
    const racing = await assertion('ci-agent', ci.privateKey, 'ES256', 'ci-1', { aud: a.proxy.url });
    const both = await Promise.all([send(a.proxy.url, racing), send(bUrl, racing)]);
    t.same(both.map((r) => r.status).sort(), [200, 401], `race ${i}: one token`);
  }
  // A token issued by one replica works at the other.
  const r = await postRecorded(
    recR,
    `${bUrl}/mcp/rec`,
    { authorization: `Bearer ${first.body.access_token}` },
    INITIALIZE,
  );
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.equal(r.seen[0]!.headers['x-forwarded-user'], 'client:ci-agent');
});

t.test('config: clear problems, all collected; secrets from the environment', async (t) => {
  const load = (list: unknown[], extra: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
    loadConfig({
      doc: {
        session: { keys: [TEST_SESSION_KEY] },
        oidc: { issuer: 'http://127.0.0.1:1/idp', clientId: 'proxy', clientSecret: 'proxy-secret' },
        backends: [{ name: 'a', http: { url: 'http://127.0.0.1:2/mcp' } }],
        authorizationServer: { clients: list },
        ...extra,
      },
      env,
    });
  const fromEnv = load(
    [{ clientId: 'nightly', clientSecret: '${NIGHTLY_SECRET}', scopes: ['mcp'] }],
    {},
    {
      NIGHTLY_SECRET: SECRET,
    },
  );
  t.equal(fromEnv.config?.authorizationServer.clients[0]?.clientSecret, SECRET);
  const unset = load([{ clientId: 'nightly', clientSecret: '${NIGHTLY_SECRET}', scopes: ['mcp'] }]);
  t.match(unset.problems.join('\n'), /NIGHTLY_SECRET is not set/);
  const bad = load([
    { clientId: 'two', clientSecret: SECRET, jwksUri, scopes: ['mcp'] },
    { clientId: 'none', scopes: ['mcp'] },
    { clientId: 'short', clientSecret: 'abc', scopes: ['mcp'] },
    { clientId: 'private', jwks: { keys: [await exportJWK(ci.privateKey)] }, scopes: ['mcp'] },
    { clientId: 'noscope', clientSecret: SECRET, scopes: [] },
    { clientId: 'https://evil.example/client', clientSecret: SECRET, scopes: ['mcp'] },
    { clientId: 'twice', clientSecret: SECRET, scopes: ['mcp'] },
    { clientId: 'twice', clientSecret: SECRET, scopes: ['mcp'] },
  ]);
  t.notOk(bad.config);
  const text = bad.problems.join('\n');
  t.match(text, /client "two" needs exactly one of clientSecret, jwksUri or jwks \(has 2\)/);
  t.match(text, /client "none" needs exactly one of clientSecret, jwksUri or jwks \(has 0\)/);
  t.match(text, /clients\[2\]\.clientSecret: clientSecret must be at least 16 characters/);
  t.match(text, /public keys only/);
  t.match(text, /clients\[4\]\.scopes/);
  t.match(text, /clients\[5\]\.clientId/);
  t.match(text, /duplicate clientId "twice"/);
  const noAs = load([{ clientId: 'nightly', clientSecret: SECRET, scopes: ['mcp'] }], {
    authorizationServer: { enabled: false, clients: [{ clientId: 'nightly', clientSecret: SECRET, scopes: ['mcp'] }] },
  });
  t.match(noAs.problems.join('\n'), /machine clients need the authorization server/);
});
