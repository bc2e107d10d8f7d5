/**
 * Back-Channel Logout token validation, field by field, with tokens signed by the IdP's own key
 * (a loopback OpenID issuer stand-in serving discovery and its JWKS): only a token the spec
 * allows logs anyone out, and one token logs out once, even delivered twice at the same moment.
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { startProxy } from '../helpers/proxy.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const CLIENT_ID = 'bcl-test-client';
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-key', alg: 'ES256', use: 'sig' };
const idp = http.createServer((req, res) => {
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const body =
    req.url === '/jwks'
      ? { keys: [jwk] }
      : {
          issuer,
          jwks_uri: `${issuer}/jwks`,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['ES256'],
        };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
t.teardown(() => idp.close());
const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
const proxy = await startProxy({
  server: { logLevel: 'warn' },
  oidc: { issuer, clientId: CLIENT_ID, clientSecret: 'bcl-test-secret-0123456789' },
  backends: [{ name: 'unused', http: { url: 'http://127.0.0.1:9/mcp' } }],
});
t.teardown(() => proxy.close());

let n = 0;
/**
 * A logout token signed by the IdP: valid unless `claims` or
 * `header` say otherwise (a claim set to undefined is left out).
 */
function logoutToken(claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const all: JWTPayload = {
    iss: issuer,
    aud: CLIENT_ID,
    iat: Math.floor(Date.now() / 1000),
    jti: `bcl-${++n}`,
    sub: 'nobody',
    events: { [EVENT]: {} },
    ...claims,
  };
  for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k];
  return new SignJWT(all)
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-key', typ: 'logout+jwt', ...header })
    .sign(privateKey);
}
const post = (token: string) =>
  fetch(`${proxy.url}/oauth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }),
  });

t.test('a valid logout token is accepted (the control for the refusals below)', async (t) => {
  t.equal((await post(await logoutToken())).status, 200);
  t.equal((await post(await logoutToken({}, { typ: 'JWT' }))).status, 200, 'typ JWT, as many IdPs send');
});

const refused: Array<[string, JWTPayload, Record<string, unknown>?]> = [
  ['the back-channel event member is null', { events: { [EVENT]: null } }],
  ['the back-channel event member is an array', { events: { [EVENT]: [] } }],
  ['the back-channel event member is a string', { events: { [EVENT]: 'logout' } }],
  ['events is an array', { events: [EVENT] }],
  ['no back-channel event', { events: { 'http://example.com/other': {} } }],
  ['a nonce is present', { nonce: 'n-0S6_WzA2Mj' }],
  ['no iat', { iat: undefined }],
  ['iat in the future', { iat: Math.floor(Date.now() / 1000) + 3600 }],
  ['iat too old', { iat: Math.floor(Date.now() / 1000) - 3600 }],
  ['no jti', { jti: undefined }],
  ['neither sub nor sid', { sub: undefined }],
  ['typed as an access token', {}, { typ: 'at+jwt' }],
];
for (const [what, claims, header] of refused) {
  t.test(`refused: ${what}`, async (t) => {
    const res = await post(await logoutToken(claims, header));
    t.equal(res.status, 400);
    t.match(((await res.json()) as { error: string }).error, 'invalid_request');
  });
}

t.test('one token logs out once, even delivered several times at the same moment', async (t) => {
  const token = await logoutToken();
  const statuses = (await Promise.all(Array.from({ length: 5 }, () => post(token)))).map((r) => r.status);
  t.same(statuses.sort(), [200, 400, 400, 400, 400]);
  t.equal((await post(token)).status, 400, 'and later');
});
