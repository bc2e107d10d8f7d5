// `npm start` as a newcomer runs it: embedded dev IdP + demo backend, log in, whoami shows you.
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readFileSync } from 'node:fs';
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

/** The tools a user sees at an MCP URL, and what calling delete_everything gives them. */
async function toolsAndDelete(mcpUrl: string, cookie: string) {
  const client = new Client({ name: 'demo-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { cookie } } }));
  const names = (await client.listTools()).tools.map((x) => x.name);
  const call = await client.callTool({ name: 'delete_everything', arguments: {} }).then(
    (r) => `allowed: ${JSON.stringify(r.content)}`,
    (e: Error) => `refused: ${e.message}`,
  );
  await client.close();
  return { names, call };
}

t.test('the demo policy: alice (admin) and bob see different tools', async (t) => {
  for (const path of ['/mcp', '/mcp/legacy']) {
    const alice = await toolsAndDelete(`${url}${path}`, (await loginThroughProxy(url, 'alice')).cookie);
    const bob = await toolsAndDelete(`${url}${path}`, (await loginThroughProxy(url, 'bob')).cookie);
    t.ok(alice.names.includes('delete_everything'), `${path}: alice sees delete_everything`);
    t.match(alice.call, /^allowed: .*nothing deleted/, `${path}: and may call it`);
    t.notOk(bob.names.includes('delete_everything'), `${path}: bob does not see it`);
    t.ok(bob.names.includes('whoami'), `${path}: but sees the other tools`);
    t.match(bob.call, /^refused: .*delete_everything/, `${path}: calling it anyway is refused`);
  }
});

t.test("the README's demo API key and curl lines work", async (t) => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const key = /Bearer (demo-api-key-[a-z-]+)/.exec(readme)?.[1];
  t.equal(key, 'demo-api-key-never-deploy', 'the README names the demo key');
  t.match(output(), `Bearer ${key}`, 'so does the banner of npm start');
  t.match(readFileSync(`${ROOT}config/dev.yaml`, 'utf8'), 'printf %s demo-api-key-never-deploy | sha256sum');
  const auth = { authorization: `Bearer ${key}` };
  const list = await fetch(`${url}/api/backends/demo/tools`, { headers: auth });
  t.equal(list.status, 200);
  const names = ((await list.json()) as { tools: Array<{ name: string }> }).tools.map((x) => x.name);
  t.ok(names.includes('echo') && !names.includes('delete_everything'), 'the key sees echo, not delete_everything');
  const call = (body: unknown) =>
    fetch(`${url}/api/backends/demo/tools/call`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const echo = await call({ name: 'echo', arguments: { text: 'hi' } });
  t.same(await echo.json(), { content: [{ type: 'text', text: 'hi' }] });
  const denied = await call({ name: 'delete_everything', arguments: {} });
  t.equal(denied.status, 403);
  t.match(await denied.json(), { error: { code: 'FORBIDDEN' } });
  const viaHeader = await fetch(`${url}/api/backends`, { headers: { 'x-api-key': key! } });
  t.equal(viaHeader.status, 200, 'X-API-Key works too');
});

t.test('readyz: the demo backends are healthy, in words', async (t) => {
  const ready = (await (await fetch(`${url}/readyz`)).json()) as any;
  t.match(ready.backends.demo, { ok: true, kind: 'http', detail: /^reachable/ });
  t.match(ready.backends.legacy, { ok: true, kind: 'stdio', detail: /^node found/ });
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
