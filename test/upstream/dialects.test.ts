// `upstream.dialect`: each sends exactly the token request its IdP documents (src/upstream/exchange.ts),
// at the real test IdP standing in for it (token exchange and on-behalf-of added with registerGrantType,
// every form parameter recorded), and the token it gets reaches the backend. A dialect missing what it
// needs is a configuration problem.
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/app/config.js';
import { postRecorded, startRecorder } from '../helpers/hostile.js';
import { INITIALIZE, loginThroughProxy } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { addOnBehalfOf, addTokenExchange, type Exchange, JWT_BEARER, TOKEN_EXCHANGE } from '../helpers/upstream-idp.js';

const AT = 'urn:ietf:params:oauth:token-type:access_token';
const rec = await startRecorder();
const stack = await startStack({
  consent: false,
  idpClient: () => ({ grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE, JWT_BEARER] }),
  backends: () => [
    { name: 'std', http: { url: rec.url }, upstream: { kind: 'tokenExchange', audience: 'api://crm', scopes: ['a'] } },
    {
      name: 'okta',
      http: { url: rec.url },
      upstream: { kind: 'tokenExchange', dialect: 'okta', audience: 'api://crm', scopes: ['crm.read'] },
    },
    {
      name: 'entra',
      http: { url: rec.url },
      upstream: { kind: 'tokenExchange', dialect: 'entra', scopes: ['api://crm/.default'] },
    },
    {
      name: 'keycloak',
      http: { url: rec.url },
      upstream: { kind: 'tokenExchange', dialect: 'keycloak', audience: 'crm-service' },
    },
    {
      name: 'keycloak-scoped',
      http: { url: rec.url },
      upstream: { kind: 'tokenExchange', dialect: 'keycloak', audience: 'crm-service', scopes: ['crm.read'] },
    },
  ],
});
const exchanges: Exchange[] = [];
addTokenExchange(stack.idp.provider, {}, exchanges);
addOnBehalfOf(stack.idp.provider, {}, exchanges);
t.teardown(async () => {
  await stack.close();
  await rec.close();
});
const alice = await loginThroughProxy(stack.proxy.url, 'alice');

/** One request to `backend` as alice: the exchange the IdP answered, and what the backend received. */
async function through(t: Test, backend: string): Promise<Exchange> {
  const before = exchanges.length;
  const r = await postRecorded(rec, `${stack.proxy.url}/mcp/${backend}`, { cookie: alice.cookie }, INITIALIZE);
  t.equal(r.status, 200);
  t.ok(r.json.result, 'the backend answered');
  t.equal(exchanges.length, before + 1, 'one request at the token endpoint');
  const x = exchanges.at(-1)!;
  t.equal(x.accountId, 'alice');
  t.equal(r.seen[0]!.headers.authorization, `Bearer ${x.token}`, 'the token it got reaches the backend');
  return x;
}

t.test('rfc8693 (the default): RFC 8693 with requested_token_type, audience and scope', async (t) => {
  const x = await through(t, 'std');
  t.same(x.params, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: x.subjectToken,
    subject_token_type: AT,
    requested_token_type: AT,
    audience: 'api://crm',
    scope: 'a',
  });
});

t.test('okta: RFC 8693 with audience and scope, subject_token_type access_token', async (t) => {
  const x = await through(t, 'okta');
  t.same(x.params, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: x.subjectToken,
    subject_token_type: AT,
    audience: 'api://crm',
    scope: 'crm.read',
  });
});

t.test('entra: on-behalf-of, the jwt-bearer grant with the assertion and requested_token_use', async (t) => {
  const x = await through(t, 'entra');
  t.same(x.params, {
    grant_type: JWT_BEARER,
    assertion: x.subjectToken,
    requested_token_use: 'on_behalf_of',
    scope: 'api://crm/.default',
  });
});

t.test('keycloak: RFC 8693 with audience = the target client id, requested_token_type access_token', async (t) => {
  const x = await through(t, 'keycloak');
  t.same(x.params, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: x.subjectToken,
    subject_token_type: AT,
    requested_token_type: AT,
    audience: 'crm-service',
  });
  const scoped = await through(t, 'keycloak-scoped');
  t.equal(scoped.params.scope, 'crm.read', 'scope when configured');
});

t.test('every dialect traded the same upstream token of the browser login', async (t) => {
  t.equal(new Set(exchanges.map((x) => x.subjectToken)).size, 1);
});

t.test('a dialect missing what it needs is a configuration problem', async (t) => {
  const http = { url: 'http://127.0.0.1:9000/mcp' };
  const te = (extra: Record<string, unknown>) => ({ kind: 'tokenExchange', ...extra });
  const { config, problems } = loadConfig({
    doc: {
      session: { keys: [Buffer.alloc(32, 1).toString('base64')] },
      oidc: { issuer: 'https://dev-1.okta.com/oauth2/default', clientId: 'abc', clientSecret: 's3cret' },
      backends: [
        { name: 'o1', http, upstream: te({ dialect: 'okta', scopes: ['x'] }) },
        { name: 'o2', http, upstream: te({ dialect: 'okta', audience: 'api://crm' }) },
        { name: 'e1', http, upstream: te({ dialect: 'entra' }) },
        { name: 'e2', http, upstream: te({ dialect: 'entra', audience: 'api://crm', scopes: ['api://crm/.default'] }) },
        { name: 'k1', http, upstream: te({ dialect: 'keycloak' }) },
        { name: 'k2', http, upstream: te({ dialect: 'keycloak', audience: 'c', subjectToken: 'id_token' }) },
        { name: 'k3', http, upstream: te({ dialect: 'keycloak', audience: 'c', resource: 'https://crm' }) },
        { name: 'x1', http, upstream: te({ dialect: 'auth0' }) },
        { name: 'i1', http, upstream: te({ issuer: 'https://other.example.com' }) },
        { name: 'fine', http, upstream: te({ dialect: 'entra', scopes: ['api://crm/.default'] }) },
      ],
    },
    env: {},
  });
  t.equal(config, undefined);
  const text = problems.join('\n');
  t.match(text, /backends\[0\]\.upstream\.audience.*dialect okta needs audience/);
  t.match(text, /backends\[1\]\.upstream\.scopes.*dialect okta needs scopes/);
  t.match(text, /backends\[2\]\.upstream\.scopes.*dialect entra needs scopes/);
  t.match(text, /backends\[3\]\.upstream\.audience.*dialect entra sends no audience/);
  t.match(text, /backends\[4\]\.upstream\.audience.*dialect keycloak needs audience/);
  t.match(text, /backends\[5\]\.upstream\.subjectToken.*must be access_token/);
  t.match(text, /backends\[6\]\.upstream\.resource.*sends no resource/);
  t.match(text, /backends\[7\]\.upstream\.dialect/);
  t.match(text, /backends\[8\]\.upstream\.issuer.*set its tokenEndpoint/);
  t.notMatch(text, /backends\[9\]/, 'a complete entra backend is fine');
});
