// The SDK client identified by a Client ID Metadata Document (no registration): the proxy's AS
// fetches the document from the client's https URL and runs the whole flow with it.
import t from 'tap';
import { startHttpsServer } from '../helpers/https-server.js';
import { MemoryOAuthProvider, connectWithOAuth } from '../helpers/oauth-client.js';
import { asMetadata, authorizeUrl, pkce } from '../helpers/oauth-manual.js';
import { startStack } from '../helpers/stack.js';

const REDIRECT = 'http://127.0.0.1:33419/callback';
let fetches = 0;
const docs = await startHttpsServer((req, res) => {
  fetches++;
  if (req.url === '/huge.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(
      JSON.stringify({
        client_id: `${docs.origin}/huge.json`,
        client_name: 'x'.repeat(6 * 1024 * 1024),
        redirect_uris: [REDIRECT],
      }),
    );
  }
  if (req.url === '/liar.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(
      JSON.stringify({ client_id: 'https://someone-else.example.com/client.json', redirect_uris: [REDIRECT] }),
    );
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      client_id: `${docs.origin}/client.json`,
      client_name: 'CIMD test client',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  );
});
const stack = await startStack({ consent: true, deps: { cimdTestOrigin: { host: docs.host, fetch: docs.fetch } } });
t.teardown(async () => {
  await stack.close();
  await docs.close();
});
const { proxy } = stack;

t.test('the SDK client authorizes with a Client ID Metadata Document and calls a tool', async (t) => {
  const provider = new MemoryOAuthProvider(REDIRECT, `${docs.origin}/client.json`);
  const { client, login } = await connectWithOAuth(
    `${proxy.url}/mcp/demo`,
    { username: 'bob', password: 'bob' },
    provider,
  );
  t.equal(provider.info?.client_id, `${docs.origin}/client.json`, 'no registration: the URL is the client id');
  t.ok(fetches >= 1, 'the AS fetched the document');
  t.notMatch(login.hops.join('\n'), /\/reg\b/, 'no DCR request');
  const who = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(who.user, 'bob');
  await client.close();
});

t.test('a document larger than the limit, or naming another client_id, is refused', async (t) => {
  const meta = await asMetadata(proxy.url);
  for (const path of ['/huge.json', '/liar.json']) {
    const res = await fetch(
      authorizeUrl(meta, {
        client_id: `${docs.origin}${path}`,
        redirect_uri: REDIRECT,
        code_challenge: pkce().challenge,
        resource: `${proxy.url}/mcp/demo`,
      }),
      { redirect: 'manual' },
    );
    t.equal(res.status, 400, `${path} refused`);
    t.match(await res.text(), /invalid_client/);
  }
});
