// The zero-config form as users run it: `mcp-oidc-proxy --issuer … --client-id … -- node server.js`,
// a real IdP, a real SDK client, then SIGTERM: every child process goes with the proxy.
import t from 'tap';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { freePort } from '../helpers/ports.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { BIN, exited, startAndWait } from '../helpers/spawn.js';
import { DEMO_STDIO, childrenOf, connect, whoami } from '../helpers/stdio-stack.js';

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const idp = await startStandaloneIdp({
  consent: false,
  clients: [
    {
      client_id: 'wrap',
      client_secret: 'wrap-secret-123',
      redirect_uris: [`${url}/oauth/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
    },
  ],
});
t.teardown(() => idp.close());

t.test('wrap one legacy stdio server with zero config, then shut down cleanly', async (t) => {
  const { child, output } = await startAndWait(
    BIN,
    [
      '--issuer',
      idp.issuer,
      '--client-id',
      'wrap',
      '--client-secret',
      'wrap-secret-123',
      '--port',
      String(port),
      '--',
      process.execPath,
      DEMO_STDIO,
    ],
    { MCP_PROXY_SESSION_KEYS: TEST_SESSION_KEY },
    `${url}/healthz`,
  );
  t.teardown(() => child.kill('SIGKILL'));
  const alice = (await loginThroughProxy(url, 'alice')).cookie;
  const bob = (await loginThroughProxy(url, 'bob')).cookie;
  const a = await connect(`${url}/mcp`, alice);
  const b = await connect(`${url}/mcp`, bob);
  t.equal((await whoami(a.client)).meta.sub, 'alice');
  t.equal((await whoami(b.client)).meta.sub, 'bob');
  const before = childrenOf(child.pid!);
  t.equal(before.length, 2, 'one process per MCP session (default isolation)');
  child.kill('SIGTERM');
  t.equal(await exited(child), 0, 'the proxy exits 0');
  const after = before.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  t.same(after, [], 'no orphaned stdio server');
  t.comment(`stdio processes before SIGTERM: ${before.length} (${before.join(', ')}), after: ${after.length}`);
  t.match(output(), /stdio server started/);
});
