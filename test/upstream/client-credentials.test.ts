// A backend with `upstream: {kind: clientCredentials}` receives the proxy's own token from a real
// token endpoint (a second oidc-provider with its client credentials grant), one per backend,
// cached: any principal, API keys included, since the token is not the user's.
import t from 'tap';
import { apiKey, postRecorded, startRecorder } from '../helpers/hostile.js';
import { INITIALIZE, loginThroughProxy, rpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { startClientCredentialsIdp } from '../helpers/upstream-idp.js';

const rec = await startRecorder();
const cc = await startClientCredentialsIdp();
const key = apiKey('robot', 'robot');
const stack = await startStack({
  consent: false,
  backends: () => [
    {
      name: 'reports',
      http: { url: rec.url },
      upstream: {
        kind: 'clientCredentials',
        tokenEndpoint: cc.tokenEndpoint,
        clientId: cc.clientId,
        clientSecret: cc.clientSecret,
        scopes: ['reports'],
      },
    },
    {
      name: 'refused',
      http: { url: rec.url },
      upstream: {
        kind: 'clientCredentials',
        tokenEndpoint: cc.tokenEndpoint,
        clientId: cc.clientId,
        clientSecret: 'wrong',
      },
    },
  ],
  proxy: { apiKeys: [key.config] },
});
t.teardown(async () => {
  await stack.close();
  await cc.close();
  await rec.close();
});
const { proxy } = stack;

const post = (backend: string, headers: Record<string, string>, body = INITIALIZE) =>
  postRecorded(rec, `${proxy.url}/mcp/${backend}`, headers, body);

const alice = await loginThroughProxy(proxy.url, 'alice');

t.test("the proxy's client credentials token is attached, then reused", async (t) => {
  const first = await post('reports', { cookie: alice.cookie });
  t.equal(first.status, 200);
  t.ok(first.json.result);
  const auth = first.seen[0]!.headers.authorization;
  t.match(auth, /^Bearer \S+$/);
  const token = await cc.provider.ClientCredentials.find(auth!.slice('Bearer '.length));
  t.ok(token, 'a token that token endpoint issued');
  t.equal(token?.clientId, cc.clientId);
  t.equal(token?.scope, 'reports');
  t.equal(cc.grants(), 1);
  t.notOk(first.seen[0]!.headers.cookie, 'the client cookie never reaches the backend');
  t.equal(first.seen[0]!.headers['x-forwarded-user'], 'alice');

  const second = await post('reports', key.headers, rpc('tools/list', {}, 2));
  t.equal(second.status, 200);
  t.equal(second.seen[0]!.headers.authorization, auth, 'the same token, for any principal');
  t.notOk(second.seen[0]!.headers['x-api-key'], 'the API key never reaches the backend');
  t.equal(cc.grants(), 1, 'cached: no second token request');
});

t.test('a refused client: a clear error naming the backend, logged with the endpoint error', async (t) => {
  const r = await post('refused', { cookie: alice.cookie });
  t.equal(r.status, 200);
  t.equal(r.seen.length, 0, 'the backend heard nothing');
  t.equal(r.json.error.data.code, 'UPSTREAM_TOKEN_FAILED');
  t.match(r.json.error.message, /backend "refused"/);
  const logged = proxy.logs().find((l) => l.event === 'upstream.token_failed' && l.backend === 'refused');
  t.equal(logged?.error, 'invalid_client');
  t.equal(logged?.kind, 'clientCredentials');
  t.notOk(JSON.stringify(proxy.logs()).includes('wrong"'), 'the client secret is not logged');
});
