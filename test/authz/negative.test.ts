// Hostile and broken OAuth: every one of these must fail closed.
import t from 'tap';
import { generateKeyPair, SignJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { authorizeUrl, b64url, getCode, pkce, register, tokenRequest } from '../helpers/oauth-manual.js';
import { INITIALIZE, loginThroughProxy } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: false, proxy: { authorizationServer: { accessTokenTtl: '2s' } } });
t.teardown(() => stack.close());
const { proxy } = stack;
const REDIRECT = 'http://127.0.0.1:33418/callback';
const resource = `${proxy.url}/mcp/demo`;
const mcp = (token: string, path = '/mcp/demo') =>
  fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: INITIALIZE,
  });

async function fullToken(user = 'alice') {
  const { meta, client } = await register(proxy.url);
  const { verifier, challenge } = pkce();
  const { code } = await getCode(
    authorizeUrl(meta, { client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, resource }),
    REDIRECT,
    user,
  );
  const tok = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: code!,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    resource,
  });
  return { meta, client, code: code!, verifier, tok };
}

t.test('a good token works (baseline)', async (t) => {
  const { tok } = await fullToken();
  t.equal(tok.status, 200);
  t.equal((await mcp(tok.body.access_token!)).status, 200);
});

t.test('forged tokens: alg none, HS256 with the public key, unknown kid, other key', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: proxy.url,
    sub: 'alice',
    aud: resource,
    iat: now,
    exp: now + 300,
    scope: 'mcp',
    groups: ['admin'],
  };
  const noneHeader = b64url(Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })));
  const none = `${noneHeader}.${b64url(Buffer.from(JSON.stringify(claims)))}.`;
  const jwks = (await (await fetch(`${proxy.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  const header = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid })));
  const body = b64url(Buffer.from(JSON.stringify(claims)));
  const mac = createHmac('sha256', JSON.stringify(jwks.keys[0])).update(`${header}.${body}`).digest();
  const hs = `${header}.${body}.${b64url(mac)}`;
  const other = await generateKeyPair('ES256');
  const unknownKid = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-ours' })
    .sign(other.privateKey);
  const sameKid = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwks.keys[0]!.kid })
    .sign(other.privateKey);
  for (const [label, token] of [
    ['alg none', none],
    ['HS256 with the public key', hs],
    ['unknown kid', unknownKid],
    ['our kid, other key', sameKid],
    ['garbage', 'abc.def.ghi'],
  ]) {
    const res = await mcp(token!);
    t.equal(res.status, 401, label);
    t.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/, `${label}: invalid_token`);
  }
});

t.test('expired token → 401 invalid_token', async (t) => {
  const { tok } = await fullToken();
  await new Promise((r) => setTimeout(r, 2300));
  const res = await mcp(tok.body.access_token!);
  t.equal(res.status, 401);
  t.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});

t.test('code replay is refused and revokes what the code issued', async (t) => {
  const { meta, client, code, verifier, tok } = await fullToken();
  const replay = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    resource,
  });
  t.equal(replay.status, 400);
  t.equal(replay.body.error, 'invalid_grant');
  t.equal((await mcp(tok.body.access_token!)).status, 401, 'the token from the replayed code no longer works');
});

t.test('PKCE: a wrong verifier, or no challenge at all, fails', async (t) => {
  const { meta, client } = await register(proxy.url);
  const { challenge } = pkce();
  const { code } = await getCode(
    authorizeUrl(meta, { client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, resource }),
    REDIRECT,
  );
  const bad = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: code!,
    code_verifier: pkce().verifier,
    client_id: client.client_id,
    redirect_uri: REDIRECT,
  });
  t.equal(bad.status, 400);
  t.equal(bad.body.error, 'invalid_grant');
  const u = new URL(authorizeUrl(meta, { client_id: client.client_id, redirect_uri: REDIRECT, resource }));
  u.searchParams.delete('code_challenge');
  u.searchParams.delete('code_challenge_method');
  const { error } = await getCode(u.href, REDIRECT);
  t.equal(error, 'invalid_request', 'PKCE is required');
});

t.test('redirect URIs: unregistered refused; loopback matches on any port only', async (t) => {
  const { meta, client } = await register(proxy.url);
  const { challenge } = pkce();
  const evil = await fetch(
    authorizeUrl(meta, {
      client_id: client.client_id,
      redirect_uri: 'https://evil.example.com/cb',
      code_challenge: challenge,
      resource,
    }),
    { redirect: 'manual' },
  );
  t.equal(evil.status, 400, 'unregistered redirect_uri: an error page, no redirect');
  t.notMatch(evil.headers.get('location') ?? '', /evil/);
  const otherPort = 'http://127.0.0.1:40123/callback';
  const { code } = await getCode(
    authorizeUrl(meta, { client_id: client.client_id, redirect_uri: otherPort, code_challenge: challenge, resource }),
    otherPort,
  );
  t.ok(code, 'RFC 8252: the same loopback URI on another port is accepted');
  const otherPath = await fetch(
    authorizeUrl(meta, {
      client_id: client.client_id,
      redirect_uri: 'http://127.0.0.1:40123/other',
      code_challenge: challenge,
      resource,
    }),
    { redirect: 'manual' },
  );
  t.equal(otherPath.status, 400, 'another path is not');
});

t.test('resource: foreign resources are refused; a token for another backend path is refused', async (t) => {
  const { meta, client } = await register(proxy.url);
  const { challenge } = pkce();
  const { error } = await getCode(
    authorizeUrl(meta, {
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      resource: 'https://elsewhere.example.com/mcp',
    }),
    REDIRECT,
  );
  t.equal(error, 'invalid_target');
  const { tok } = await fullToken();
  t.equal((await mcp(tok.body.access_token!, '/mcp')).status, 401, 'aud /mcp/demo is not /mcp');
});

t.test('tokens in the query string are refused', async (t) => {
  const { tok } = await fullToken();
  const res = await fetch(`${proxy.url}/mcp/demo?access_token=${tok.body.access_token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
  });
  t.equal(res.status, 401);
});

t.test('consent: POST without the CSRF token is refused', async (t) => {
  const consentStack = await startStack({ consent: false });
  t.teardown(() => consentStack.close());
  const p = consentStack.proxy;
  const { jar } = await loginThroughProxy(p.url, 'alice');
  const { meta, client } = await register(p.url);
  const auth = authorizeUrl(meta, {
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    resource: `${p.url}/mcp/demo`,
  });
  // Follow redirects by hand (cookies updated at each hop) until the consent page.
  let url = new URL(auth);
  let page = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) ?? '' } });
  for (let i = 0; i < 10 && page.status >= 300 && page.status < 400; i++) {
    jar.setFromResponse(url, page);
    url = new URL(page.headers.get('location')!, url);
    page = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) ?? '' } });
  }
  const interaction = url;
  const html = await page.text();
  t.match(html, /Allow access\?/, 'the consent page is shown');
  t.match(html, /negative-test/, 'it names the client');
  t.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, 'never framed');
  const noCsrf = await fetch(`${interaction.href}/confirm`, {
    method: 'POST',
    headers: {
      cookie: jar.header(`${interaction.href}/confirm`)!,
      'content-type': 'application/x-www-form-urlencoded',
      origin: p.url,
    },
    body: '',
    redirect: 'manual',
  });
  t.equal(noCsrf.status, 403);
});
