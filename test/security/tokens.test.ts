// Hostile bearer tokens at /mcp/<backend>: every one is a 401 with a Bearer invalid_token
// challenge for the path used, and the backend (a raw counting server) never sees the request.
import { grantKey } from '../../src/authz-server/adapter.js';
import { MemoryStore } from '../../src/store/memory.js';
import t, { type Test } from 'tap';
import { createPublicKey, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { loadSigningKey } from '../../src/propagation/keys.js';
import { bearerParams, countingHttpServer, es256Jwt, hmacJwt, unsignedJwt } from '../helpers/hostile-tokens.js';
import { startRecorder } from '../helpers/hostile.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { startProxy } from '../helpers/proxy.js';
import { INITIALIZE, MCP_ACCEPT } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const key = await loadSigningKey();
const backend = await startRecorder();
// An external issuer: its JWKS on loopback; tokens for it must name audience `mcp-proxy`.
const ext = await generateKeyPair('RS256');
const extJwk = { ...(await exportJWK(ext.publicKey)), kid: 'ext-1', alg: 'RS256', use: 'sig' };
const jwks = await countingHttpServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [extJwk] })),
);
const EXT_ISSUER = `${jwks.url}/issuer`;
// An RFC 7662 endpoint: `active: false` for every token but the few named in `activeAnswers`.
const introspected: string[] = [];
const activeAnswers = new Map<string, () => Record<string, unknown>>();
const introspection = await countingHttpServer((_req, res, body) => {
  const token = new URLSearchParams(body).get('token') ?? '';
  introspected.push(token);
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify(activeAnswers.get(token)?.() ?? { active: false }));
});

// Tokens minted here name a grant that exists in the store, as the authorization server's do.
const store = new MemoryStore();
const GRANT = 'minted-grant';
await store.set(grantKey(GRANT), { accountId: 'alice' }, 3600_000);
const stack = await startStack({
  consent: false,
  deps: { signingKey: key, store },
  backends: () => [
    { name: 'demo', http: { url: backend.url } },
    { name: 'other', http: { url: backend.url } },
  ],
  proxy: { externalTokens: { jwt: [{ issuer: EXT_ISSUER, audience: ['mcp-proxy'], jwksUri: `${jwks.url}/jwks` }] } },
});
// Introspection catches every token no other verifier claims: a proxy of its own, same backend.
const introspecting = await startProxy({
  externalTokens: {
    introspection: { endpoint: `${introspection.url}/introspect`, clientId: 'proxy', clientSecret: 'proxy-secret' },
  },
  backends: [{ name: 'demo', http: { url: backend.url } }],
});
t.teardown(async () => {
  await introspecting.close();
  await stack.close();
  for (const s of [backend, jwks, introspection]) await s.close();
});
const { proxy } = stack;
const RESOURCE = `${proxy.url}/mcp/demo`;
const REDIRECT = 'http://127.0.0.1:33440/callback';

const post = (url: string, headers: Record<string, string>) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body: INITIALIZE,
  });
const mcp = (token: string, base = proxy.url, path = '/mcp/demo') =>
  post(`${base}${path}`, { authorization: `Bearer ${token}` });

/** Claims of a well-formed access token of this proxy for /mcp/demo, with `over` applied. */
function claims(over: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: proxy.url,
    sub: 'alice',
    aud: RESOURCE,
    iat: now,
    exp: now + 300,
    scope: 'mcp',
    client_id: 'hostile',
    jti: randomBytes(8).toString('hex'),
    groups: ['admin'],
    gid: GRANT,
    ...over,
  };
}
const HEADER = { alg: 'ES256', typ: 'at+jwt', kid: key.kid };
const sign = (
  c: Record<string, unknown>,
  header: Record<string, unknown> = HEADER,
  with_: CryptoKey = key.privateKey,
) => new SignJWT(c).setProtectedHeader(header as { alg: string }).sign(with_);

/** A real token from the proxy's authorization server (DCR, PKCE, login at the IdP) for `resource`. */
async function issued(resource: string): Promise<string> {
  const { meta, client } = await register(proxy.url, REDIRECT);
  const tok = await codeFlowTokens(meta, { clientId: client.client_id, redirect: REDIRECT, resource });
  if (tok.status !== 200) throw new Error(`token: ${JSON.stringify(tok.body)}`);
  return tok.body.access_token!;
}

const INVALID = 'the access token is invalid or expired';

/**
 * Exactly 401 + `Bearer resource_metadata=…, error="invalid_token", error_description=…`, and the backend untouched.
 */
async function refused(
  t: Test,
  send: () => Promise<Response>,
  description = INVALID,
  base = proxy.url,
  path = '/mcp/demo',
) {
  const before = backend.seen.length;
  const res = await send();
  t.equal(res.status, 401, 'status 401');
  t.same(
    bearerParams(res.headers.get('www-authenticate')),
    {
      resource_metadata: `${base}/.well-known/oauth-protected-resource${path}`,
      error: 'invalid_token',
      error_description: description,
      scope: 'mcp',
    },
    'the Bearer invalid_token challenge',
  );
  t.same(
    ((await res.json()) as { error?: unknown }).error,
    { code: -32001, message: INVALID, data: { code: 'INVALID_TOKEN' } },
    'a JSON-RPC error naming INVALID_TOKEN',
  );
  t.equal(backend.seen.length, before, 'the backend was never called');
}

t.test('baseline: a token minted with the proxy key and correct claims reaches the backend', async (t) => {
  const before = backend.seen.length;
  const res = await mcp(await sign(claims()));
  t.equal(res.status, 200);
  t.equal(backend.seen.length, before + 1, 'the counter sees requests that pass');
});

t.test('right key, perfect claims, but its grant is not in the store (revoked, or never existed)', async (t) => {
  await refused(t, async () => mcp(await sign(claims({ gid: 'no-such-grant' }))));
  await refused(t, async () => mcp(await sign(claims({ gid: undefined }))));
});

t.test('alg none, otherwise perfect claims', async (t) => {
  await refused(t, () => mcp(unsignedJwt({ typ: 'at+jwt', kid: key.kid }, claims())));
});

t.test('HS256 MACed with the proxy public key bytes (PEM): no HS/ES confusion', async (t) => {
  const pem = createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  await refused(t, () => mcp(hmacJwt(pem, { typ: 'at+jwt', kid: key.kid }, claims())));
});

t.test('right key, wrong iss', async (t) => {
  await refused(t, async () => mcp(await sign(claims({ iss: `${proxy.url}/` }))), 'unknown token issuer');
});

t.test('right key, aud of a foreign resource', async (t) => {
  await refused(t, async () => mcp(await sign(claims({ aud: 'https://elsewhere.example.com/mcp/demo' }))));
});

t.test('right key, typ JWT instead of at+jwt (an ID token shape)', async (t) => {
  await refused(t, async () => mcp(await sign(claims(), { ...HEADER, typ: 'JWT' })));
});

t.test('right key, expired', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await refused(t, async () => mcp(await sign(claims({ iat: now - 600, exp: now - 60 }))));
});

t.test('right key, nbf in the future', async (t) => {
  await refused(t, async () => mcp(await sign(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 }))));
});

t.test('right key, unknown kid', async (t) => {
  await refused(t, async () => mcp(await sign(claims(), { ...HEADER, kid: 'not-our-kid' })));
});

t.test('our kid, signature of another ES256 key', async (t) => {
  const other = await generateKeyPair('ES256');
  await refused(t, async () => mcp(await sign(claims(), HEADER, other.privateKey)));
});

t.test('a crit header parameter the proxy does not understand', async (t) => {
  await refused(t, () =>
    mcp(es256Jwt(key.privateKey, { ...HEADER, crit: ['x-hostile'], 'x-hostile': true }, claims())),
  );
});

t.test('a 100 KB token is cut off by the header limit before any handler runs', async (t) => {
  const before = backend.seen.length;
  const res = await mcp(`${'A'.repeat(100 * 1024)}.${'B'.repeat(10)}.C`).catch((e: Error) => e);
  t.equal(res instanceof Response ? res.status : 'closed', 431, 'Request Header Fields Too Large');
  t.equal(backend.seen.length, before, 'the backend was never called');
});

t.test('a 12 KB token of junk segments (within the header limit)', async (t) => {
  await refused(
    t,
    () => mcp([8, 4096, 64].map((n) => randomBytes(n).toString('base64url')).join('.')),
    'unknown token issuer',
  );
});

t.test("a real token for another backend's URL", async (t) => {
  const token = await issued(`${proxy.url}/mcp/other`);
  t.equal((await mcp(token, proxy.url, '/mcp/other')).status, 200, 'it works where it belongs');
  await refused(t, () => mcp(token));
});

t.test('an opaque garbage token when no introspection is configured', async (t) => {
  await refused(t, () => mcp(randomBytes(48).toString('base64url')), 'unknown token issuer');
});

t.test('an external issuer token with a wrong audience', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: 'carol', aud: 'someone-else', iat: now, exp: now + 300 })
    .setIssuer(EXT_ISSUER)
    .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
    .sign(ext.privateKey);
  await refused(t, () => mcp(token));
});

t.test('an external issuer token MACed with HS256 under its JWKS', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await refused(t, () =>
    mcp(
      hmacJwt(
        JSON.stringify({ keys: [extJwk] }),
        { kid: 'ext-1' },
        { iss: EXT_ISSUER, sub: 'carol', aud: 'mcp-proxy', iat: now, exp: now + 300 },
      ),
    ),
  );
});

t.test('an opaque token the introspection endpoint calls inactive', async (t) => {
  const token = `opaque-${randomBytes(16).toString('hex')}`;
  await refused(t, () => mcp(token, introspecting.url), INVALID, introspecting.url);
  t.same(introspected, [token], 'the endpoint was asked about exactly this token');
});

t.test(
  'an opaque token the endpoint calls active, but minted for another API (aud, client_id): 401, never reaches ' +
    'the backend',
  async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const answer = (aud: unknown) => () => ({
      active: true,
      sub: 'carol',
      aud,
      client_id: 'some-other-app',
      scope: 'mcp',
      exp: now + 300,
      token_type: 'Bearer',
    });
    activeAnswers.set('other-api-token', answer('https://other-api.example/'));
    activeAnswers.set('our-token', answer(`${introspecting.url}/mcp/demo`));
    await refused(t, () => mcp('other-api-token', introspecting.url), INVALID, introspecting.url);
    const before = backend.seen.length;
    t.equal(
      (await mcp('our-token', introspecting.url)).status,
      200,
      "control: the same answer naming this proxy's resource is accepted",
    );
    t.equal(backend.seen.length, before + 1);
  },
);

t.test('a valid token also put in the query string is refused', async (t) => {
  const token = await sign(claims());
  await refused(
    t,
    () => post(`${RESOURCE}?access_token=${token}`, { authorization: `Bearer ${token}` }),
    'tokens in the query string are not accepted: use the Authorization header',
  );
});

t.test('a token in the query string after other parameters, without a header', async (t) => {
  const token = await sign(claims());
  await refused(
    t,
    () => post(`${RESOURCE}?x=1&access_token=${token}`, {}),
    'tokens in the query string are not accepted: use the Authorization header',
  );
});
