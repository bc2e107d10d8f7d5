// `upstream: {kind: oauth}` through mcp-remote (the stdio ↔ HTTP bridge with OAuth, run for real):
// it signs in at the proxy's AS (browser part headless), then its initialize gets -32042 and it
// stops, printing the error whose message carries the connect URL (a client without URL
// elicitation still learns where to go). The user opens it in the same browser and connects at
// the backend's AS; mcp-remote started again with its stored tokens initializes, and whoami
// through it says alice.
import t from 'tap';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { mcpRemoteHome, startMcpRemote } from '../helpers/mcp-remote.js';
import { connectHeadless, GH, ghConnected, startOAuthStack } from '../helpers/oauth-upstream.js';
import { freePort } from '../helpers/ports.js';

t.test('mcp-remote: sign in, -32042 names the connect URL, connect, then whoami says alice', async (t) => {
  const stack = await startOAuthStack();
  t.teardown(() => stack.close());
  const { proxy, gh, ghUrl } = stack;
  const home = await mcpRemoteHome();
  t.teardown(() => home.remove());
  const callbackPort = await freePort();
  const remote = startMcpRemote({ serverUrl: ghUrl, callbackPort, home, args: ['--auth-timeout', '60'] });
  t.teardown(() => remote.close());

  const [, printed] = await remote.waitForStderr(/Please authorize this client by visiting:\s*\n(\S+)/, 30_000);
  const jar = new CookieJar();
  const login = await headlessLogin({ startUrl: printed!, username: 'alice', password: 'alice', jar });
  t.match(login.body ?? '', /Authorization successful/, "signed in at the proxy's AS; mcp-remote has its tokens");

  // Its initialize is refused with -32042; the message carries the connect URL.
  const escaped = proxy.url.replace(/[.]/g, '\\.');
  const [, connectUrl] = await remote.waitForStderr(new RegExp(`(${escaped}/connect/${GH}\\?[^\\s,"'\\\\]+)`), 30_000);
  t.match(remote.stderr(), /-32042/, 'mcp-remote reports MCP error -32042');
  await t.rejects(remote.connected, 'its stdio client could not initialize');
  t.equal(gh.mcp.calls.length, 0, 'the backend was never called');
  t.equal(await ghConnected(proxy.url, jar.header(`${proxy.url}/`)!), false);

  const done = await connectHeadless(connectUrl!, 'alice', jar);
  t.equal(done.finalUrl, `${proxy.url}/`, 'connected at the backend AS, back at the proxy');
  t.equal(await ghConnected(proxy.url, jar.header(`${proxy.url}/`)!), true, 'alice is connected');

  // mcp-remote again, with the tokens it stored: no new sign-in, and the backend sees alice.
  const again = startMcpRemote({ serverUrl: ghUrl, callbackPort, home });
  t.teardown(() => again.close());
  await again.connected;
  const who = (await again.client.callTool({ name: 'whoami', arguments: {} })).structuredContent as { sub: string };
  t.equal(who.sub, 'alice', 'whoami through mcp-remote says alice');
  t.notMatch(again.stderr(), /Please authorize/, 'no second sign-in');
  t.ok(
    gh.mcp.calls.every((c) => c.sub === 'alice'),
    'every backend request carried a token of alice',
  );
});
