// Upstream tokens: kept server-side, refreshed before they expire, forwarded only when a
// backend asks (forwardAccessToken), and revoked at logout.
import t from 'tap';
import { loginThroughProxy, mcpSession } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

// Access tokens live 30 s: inside the proxy's one-minute refresh margin, so every request refreshes.
const stack = await startStack({
  consent: false,
  idpTtl: { AccessToken: 30 },
  backends: (url) => [
    { name: 'legacy', forwardAccessToken: true, http: { url } },
    { name: 'plain', http: { url } },
  ],
});
t.teardown(() => stack.close());
const { proxy, backend } = stack;

const authorizationSeen = () => backend.seen.at(-1)!.headers.authorization as string | undefined;

t.test('forwardAccessToken sends the upstream token, refreshed before it expires', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const legacy = await mcpSession(`${proxy.url}/mcp/legacy`, { cookie, authorization: 'Basic Y2xpZW50OnN1cHBsaWVk' });
  const first = authorizationSeen();
  t.match(first, /^Bearer /, 'the legacy backend gets a bearer token');
  t.not(first, 'Basic Y2xpZW50OnN1cHBsaWVk', "never the client's own Authorization");
  await legacy.call('tools/list');
  const second = authorizationSeen();
  t.match(second, /^Bearer /);
  t.not(second, first, 'the near-expiry token was refreshed');
  t.ok(
    proxy.logs().every((l) => !JSON.stringify(l).includes(first!.slice(7))),
    'tokens never appear in logs',
  );
});

t.test('a backend without forwardAccessToken gets no Authorization at all', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'bob');
  await mcpSession(`${proxy.url}/mcp/plain`, { cookie, authorization: 'Basic Y2xpZW50OnN1cHBsaWVk' });
  t.equal(authorizationSeen(), undefined);
});
