// A stdio backend with `upstream: {kind: oauth, issuer, env}`: the user connects their account
// at the backend's own authorization server, and the per-user child starts with that user's
// token in its environment and token file. Without a connection, initialize gets -32042 and no
// child starts. Real parts: a second oidc-provider as the backend's AS (backend-as.ts), the
// proxy with its test IdP, a real stdio MCP server, the MCP SDK client.
import t from 'tap';
import { decodeJwt } from 'jose';
import { startOAuthBackend } from '../helpers/backend-as.js';
import { connectHeadless, connectionsOf } from '../helpers/oauth-upstream.js';
import { INITIALIZE, loginThroughProxy, MCP_ACCEPT } from '../helpers/session-client.js';
import { ROOT } from '../helpers/spawn.js';
import { startStack } from '../helpers/stack.js';
import { childrenOf, connect } from '../helpers/stdio-stack.js';

const SERVER = `${ROOT}test/helpers/token-env-stdio-server.mjs`;

const gh = await startOAuthBackend();
const stack = await startStack({
  consent: false,
  backends: () => [
    {
      name: 'jira',
      stdio: { command: process.execPath, args: [SERVER], isolation: 'user', env: { TOKEN_ENV: 'JIRA_TOKEN' } },
      upstream: { kind: 'oauth', issuer: gh.as.issuer, resource: gh.mcp.url, scopes: ['read'], env: 'JIRA_TOKEN' },
    },
  ],
});
t.teardown(async () => {
  await stack.close();
  await gh.close();
});
const { proxy } = stack;
const url = `${proxy.url}/mcp/jira`;
const servers = () => childrenOf(process.pid, 'token-env-stdio-server');

async function initialize(cookie: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, cookie },
    body: INITIALIZE,
  });
  return { status: res.status, body: (await res.json()) as any };
}

t.test('no connection: -32042 bound to the user, and no child is started', async (t) => {
  const alice = await loginThroughProxy(proxy.url, 'alice');
  const r = await initialize(alice.cookie);
  t.equal(r.status, 200);
  t.equal(r.body.error?.code, -32042);
  const [e] = r.body.error.data.elicitations;
  t.equal(e.mode, 'url');
  t.match(e.url, `${proxy.url}/connect/jira?elicitation=`);
  t.same(servers(), [], 'nothing spawned without a token');
});

t.test("after connecting, the child holds the user's own token; another user's child never sees it", async (t) => {
  const alice = await loginThroughProxy(proxy.url, 'alice');
  const first = await initialize(alice.cookie);
  const done = await connectHeadless(first.body.error.data.elicitations[0].url, 'alice', alice.jar);
  t.equal(new URL(done.finalUrl).origin, proxy.url, 'back at the proxy');
  const [conn] = await connectionsOf(proxy.url, alice.cookie);
  t.match(conn, { backend: 'jira', kind: 'oauth', connected: true, scopes: ['read'] });

  const { client } = await connect(url, alice.cookie);
  t.teardown(() => client.close());
  const seen = JSON.parse(((await client.callTool({ name: 'credential', arguments: {} })) as any).content[0].text) as {
    env: string;
    content: string;
    mode: number;
    dirMode: number;
    sub: string;
  };
  const claims = decodeJwt(seen.env);
  t.equal(claims.sub, 'alice', "the backend AS's token for alice");
  t.equal(claims.aud, gh.mcp.url, 'bound to the configured resource');
  t.equal(seen.content, seen.env, 'the token file holds the same token');
  t.equal(seen.mode, 0o600);
  t.equal(seen.dirMode, 0o700);

  const bob = await loginThroughProxy(proxy.url, 'bob');
  const b = await initialize(bob.cookie);
  t.equal(b.body.error?.code, -32042, "bob is not connected by alice's connection");
  t.equal(servers().length, 1, "only alice's child runs");
});
