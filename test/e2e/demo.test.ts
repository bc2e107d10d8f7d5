// `npm start` as a newcomer runs it: embedded dev IdP + demo backend, log in, whoami shows you.
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../helpers/ports.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { ROOT, exited, startAndWait } from '../helpers/spawn.js';

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const { child, output } = await startAndWait(`${ROOT}scripts/dev.mjs`, [], { PORT: String(port) }, `${url}/healthz`);
t.teardown(() => {
  child.kill('SIGKILL');
});

t.test('the dev IdP is mounted, loudly, and follows PORT', async (t) => {
  const disco = (await (await fetch(`${url}/_dev/idp/.well-known/openid-configuration`)).json()) as { issuer: string };
  t.equal(disco.issuer, `${url}/_dev/idp`);
  t.match(output(), /DEVELOPMENT IdP enabled/);
});

t.test('log in as alice and see yourself come back from the demo whoami tool', async (t) => {
  const { cookie, result } = await loginThroughProxy(url, 'alice');
  t.equal(result.finalUrl, `${url}/`);
  const home = await (await fetch(`${url}/`, { headers: { cookie } })).text();
  t.match(home, 'alice@example.com');
  const client = new Client({ name: 'demo-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { cookie } } }),
  );
  const who = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(who.user, 'alice');
  t.equal(who.email, 'alice@example.com');
  t.same(who.groups, ['admin', 'support']);
  t.equal(who.assertion.valid, true, 'the demo verified the assertion with the proxy JWKS');
  await client.close();
  const stdio = new Client({ name: 'demo-test', version: '1' });
  await stdio.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp/legacy`), { requestInit: { headers: { cookie } } }),
  );
  const inside = (await stdio.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(inside.meta.sub, 'alice', 'the stdio demo sees alice in _meta');
  t.equal(inside.env.MCP_PROXY_USER_EMAIL, 'alice@example.com', 'and in its environment (isolation: user)');
  await stdio.close();
});

t.test('a wrong password does not log in', async (t) => {
  const { cookie } = await loginThroughProxy(url, 'alice', 'wrong').catch(() => ({ cookie: '' }));
  const status = (await (await fetch(`${url}/oauth/status`, { headers: { cookie } })).json()) as any;
  t.equal(status.authenticated, false);
});

t.test('SIGINT stops the demo cleanly', async (t) => {
  child.kill('SIGINT');
  t.equal(await exited(child), 0);
});
