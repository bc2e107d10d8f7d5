/**
 * Real MCP clients' quirks at the proxy's authorization server, each reproduced as the client
 * behaves (README "Connect MCP clients" cites where each was reported):
 * - claude.ai / Claude Code never ask for offline_access: public PKCE clients still get a
 *   rotating refresh token, and it outlives the browser session that granted it;
 * - VS Code's Client ID Metadata Document lists grant types the AS does not give such clients;
 * - ChatGPT sends an empty (or no) `scope`: the resource's default scope, never an error;
 * - claude.ai fails on 307: every redirect of the AS and the login is 302/303;
 * - claude.ai and Cursor change callback URLs between versions: `redirectUriPatterns`.
 */
import t from 'tap';
import { decodeJwt } from 'jose';
import { startHttpsServer } from '../helpers/https-server.js';
import { type Authorize, authorizeAs, authorizedTokens } from '../helpers/client-steps.js';
import { CookieJar } from '../helpers/login.js';
import { authorizeUrl, getCode, pkce, register, tokenRequest } from '../helpers/oauth-manual.js';
import { INITIALIZE, MCP_ACCEPT, logoutThroughProxy } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const CLAUDE_AI = 'https://claude.ai/api/mcp/auth_callback';
const CLAUDE_COM = 'https://claude.com/api/mcp/auth_callback';
const CURSOR_HTTPS = 'https://www.cursor.com/agents/mcp/oauth/callback';
const CURSOR_APP = 'cursor://anysphere.cursor-mcp/oauth/callback';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const VSCODE_REDIRECT = 'http://127.0.0.1:33418/';

// VS Code's published document (https://vscode.dev/oauth/client-metadata.json, quoted in stacklok/toolhive#6290),
// served from a loopback test origin; plus grant types no client of this AS may use.
const docs = await startHttpsServer((req, res) => {
  const extra = req.url === '/greedy.json' ? ['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'] : [];
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      client_id: `${docs.origin}${req.url}`,
      client_name: 'Visual Studio Code',
      grant_types: ['authorization_code', 'refresh_token', DEVICE, ...extra],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: [VSCODE_REDIRECT, 'https://vscode.dev/redirect'],
    }),
  );
});
const stack = await startStack({
  consent: false,
  deps: { cimdTestOrigin: { host: docs.host, fetch: docs.fetch } },
  proxy: {
    authorizationServer: {
      redirectUriPatterns: [
        { clientNames: ['Claude'], redirectUris: [CLAUDE_AI, CLAUDE_COM] },
        { clientNames: ['Cursor'], redirectUris: [CURSOR_HTTPS, CURSOR_APP, 'https://*.cursor.sh/oauth/callback'] },
      ],
    },
  },
});
t.teardown(async () => {
  await stack.close();
  await docs.close();
});
const { proxy } = stack;
const resource = `${proxy.url}/mcp/demo`;

const mcp = (token: string) =>
  fetch(resource, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });

const authorize = (meta: Record<string, string>, a: Authorize) => authorizeAs(meta, resource, a);
const tokens = (meta: Record<string, string>, a: Authorize) => authorizedTokens(meta, resource, a);

t.test('claude.ai / Claude Code: no offline_access asked, a refresh token all the same', async (t) => {
  const { meta, client } = await register(proxy.url, CLAUDE_AI, { client_name: 'Claude' });
  const { tok, jar } = await tokens(meta, { clientId: client.client_id, redirect: CLAUDE_AI, scope: 'mcp' });
  t.equal(tok.status, 200);
  t.ok(tok.body.refresh_token, 'a refresh token without offline_access');
  t.equal(tok.body.scope, 'mcp');

  // The browser session that granted it ends (a plain logout: not "everywhere").
  const out = await logoutThroughProxy(proxy.url, jar.header(`${proxy.url}/`)!);
  t.equal(out.status, 200);
  await out.body?.cancel();

  const refresh = { grant_type: 'refresh_token', client_id: client.client_id, resource };
  const first = await tokenRequest(meta, { ...refresh, refresh_token: tok.body.refresh_token! });
  t.equal(first.status, 200, `refreshed after the browser session ended (${first.body.error_description ?? ''})`);
  t.ok(first.body.refresh_token && first.body.refresh_token !== tok.body.refresh_token, 'rotated');
  t.equal((await mcp(first.body.access_token!)).status, 200, 'the refreshed access token reaches the backend');
  const second = await tokenRequest(meta, { ...refresh, refresh_token: first.body.refresh_token! });
  t.equal(second.status, 200, 'and again with the rotated one');
  const reused = await tokenRequest(meta, { ...refresh, refresh_token: tok.body.refresh_token! });
  t.equal(reused.body.error, 'invalid_grant', 'the first one is spent');
});

t.test('a confidential client without offline_access gets no refresh token', async (t) => {
  const { meta, client } = await register(proxy.url, 'http://127.0.0.1:33418/callback', {
    token_endpoint_auth_method: 'client_secret_post',
  });
  const c = client as { client_id: string; client_secret?: string };
  const got = await authorize(meta, {
    clientId: c.client_id,
    redirect: 'http://127.0.0.1:33418/callback',
    scope: 'mcp',
  });
  const tok = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: got.code!,
    code_verifier: got.verifier,
    client_id: c.client_id,
    client_secret: c.client_secret!,
    redirect_uri: 'http://127.0.0.1:33418/callback',
    resource,
  });
  t.equal(tok.status, 200);
  t.notOk(tok.body.refresh_token, 'none: the standard rule (offline_access) applies to clients that can keep a secret');
});

t.test('refreshWithoutOfflineAccess: false restores the standard rule for public clients too', async (t) => {
  const strict = await startStack({
    consent: false,
    proxy: { authorizationServer: { refreshWithoutOfflineAccess: false } },
  });
  t.teardown(() => strict.close());
  const at = strict.proxy.url;
  const { meta, client } = await register(at, CLAUDE_AI);
  const res = `${at}/mcp/demo`;
  // offline_access counts with prompt=consent, as OpenID Connect Core §11 has it (oidc-provider drops it otherwise).
  for (const [scope, prompt, expected] of [
    ['mcp', 'consent', false],
    ['mcp offline_access', 'login', false],
    ['mcp offline_access', 'consent', true],
  ] as const) {
    const { verifier, challenge } = pkce();
    const { code } = await getCode(
      authorizeUrl(meta, {
        client_id: client.client_id,
        redirect_uri: CLAUDE_AI,
        code_challenge: challenge,
        resource: res,
        scope,
        prompt,
      }),
      CLAUDE_AI,
    );
    const tok = await tokenRequest(meta, {
      grant_type: 'authorization_code',
      code: code!,
      code_verifier: verifier,
      client_id: client.client_id,
      redirect_uri: CLAUDE_AI,
      resource: res,
    });
    t.equal(
      Boolean(tok.body.refresh_token),
      expected,
      `scope "${scope}", prompt=${prompt}: refresh token ${expected ? 'issued' : 'not issued'}`,
    );
  }
});

t.test("VS Code's metadata document (device_code and more listed) is accepted; only offered grants work", async (t) => {
  const meta = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    string
  >;
  for (const doc of ['/client-metadata.json', '/greedy.json']) {
    const clientId = `${docs.origin}${doc}`;
    const { tok } = await tokens(meta, { clientId, redirect: VSCODE_REDIRECT, scope: 'mcp' });
    t.equal(tok.status, 200, `${doc}: the code flow works`);
    t.equal((await mcp(tok.body.access_token!)).status, 200, `${doc}: and its token reaches the backend`);
  }
  const device = await fetch(meta.device_authorization_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: `${docs.origin}/client-metadata.json`, scope: 'mcp', resource }),
  });
  t.equal(device.status, 200, 'device_code is offered: VS Code may use it');
  await device.body?.cancel();
  const cc = await tokenRequest(meta, {
    grant_type: 'client_credentials',
    client_id: `${docs.origin}/greedy.json`,
    resource,
  });
  t.equal(cc.status, 400, 'client_credentials listed by the document is not granted');
  t.match(cc.body.error, /^(unauthorized_client|unsupported_grant_type|invalid_client)$/);
});

t.test('ChatGPT: an empty or missing scope gets the resource default scope', async (t) => {
  const { meta, client } = await register(proxy.url, 'https://chatgpt.com/connector_platform_oauth_redirect');
  for (const scope of ['', undefined]) {
    const { tok, error } = await tokens(meta, {
      clientId: client.client_id,
      redirect: 'https://chatgpt.com/connector_platform_oauth_redirect',
      scope,
    }).catch((e: Error) => ({ tok: undefined, error: e.message }));
    t.notOk(error, `scope ${scope === undefined ? 'missing' : 'empty'}: no error`);
    t.equal(tok?.status, 200);
    t.equal(tok?.body.scope, 'mcp', 'the resource default scope');
    t.equal(decodeJwt(tok!.body.access_token!).scope, 'mcp');
    t.equal((await mcp(tok!.body.access_token!)).status, 200, 'and the token reaches the backend');
  }
});

t.test('every redirect of the AS and of the login is 302 or 303, never 307/308', async (t) => {
  const { meta, client } = await register(proxy.url, CLAUDE_AI, { client_name: 'Claude' });
  const jar = new CookieJar();
  const first = await authorize(meta, { clientId: client.client_id, redirect: CLAUDE_AI, scope: 'mcp', jar });
  t.ok(first.code, 'a code');
  // With a browser session (and an AS session) already there, and once more for an error response.
  const again = await authorize(meta, { clientId: client.client_id, redirect: CLAUDE_AI, scope: 'mcp', jar });
  t.ok(again.code, 'a second code, no login');
  // Error responses are redirects too: no browser session with prompt=none, and a user who denies.
  const none = await authorize(meta, {
    clientId: client.client_id,
    redirect: CLAUDE_AI,
    scope: 'mcp',
    extra: { prompt: 'none' },
  });
  t.equal(none.error, 'login_required', 'prompt=none without a session: login_required');
  const other = await register(proxy.url, CLAUDE_AI, { client_name: 'Claude' });
  const denied = await authorize(meta, {
    clientId: other.client.client_id,
    redirect: CLAUDE_AI,
    scope: 'mcp',
    jar,
    deny: true,
  });
  t.equal(denied.error, 'access_denied', 'the user denied');
  const redirects = [...first.statuses, ...again.statuses, ...none.statuses, ...denied.statuses].filter(
    (s) => s.status >= 300 && s.status < 400 && s.url.startsWith(proxy.url),
  );
  t.ok(redirects.length >= 8, `the proxy's redirects (${redirects.length}) were seen`);
  t.same(
    redirects.filter((s) => s.status !== 302 && s.status !== 303),
    [],
    redirects.map((s) => `${s.status} ${new URL(s.url).pathname}`).join(', '),
  );
  t.ok(
    redirects.some((s) => new URL(s.url).pathname.startsWith('/interaction/')),
    'the interaction redirects are among them',
  );
  t.ok(
    redirects.some((s) => new URL(s.url).pathname === '/oauth/callback'),
    'and the login callback',
  );
});

t.test('callback URLs changed between client versions: accepted within the pattern, refused outside', async (t) => {
  const { meta, client } = await register(proxy.url, CLAUDE_AI, { client_name: 'Claude' });
  const moved = await authorize(meta, { clientId: client.client_id, redirect: CLAUDE_COM, scope: 'mcp' });
  t.ok(moved.code, 'registered with claude.ai, now using claude.com: a code is sent there');
  const tok = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: moved.code!,
    code_verifier: moved.verifier,
    client_id: client.client_id,
    redirect_uri: CLAUDE_COM,
    resource,
  });
  t.equal(tok.status, 200, 'and exchanged with the redirect_uri it used');

  const refused = async (clientId: string, redirect: string, why: string) => {
    const { challenge } = pkce();
    const res = await fetch(
      authorizeUrl(meta, { client_id: clientId, redirect_uri: redirect, code_challenge: challenge, resource }),
      {
        redirect: 'manual',
      },
    );
    t.equal(res.status, 400, why);
    t.notOk(res.headers.get('location'), `${why}: nothing is sent to it`);
    t.match(await res.text(), /redirect_uri/);
  };
  await refused(client.client_id, 'https://claude.com/api/mcp/other_callback', 'a claude.com URL outside the pattern');
  await refused(client.client_id, 'https://claude.ai.example.com/api/mcp/auth_callback', 'a look-alike host');
  const other = await register(proxy.url, CLAUDE_AI, { client_name: 'Not Claude' });
  await refused(other.client.client_id, CLAUDE_COM, "a client not named in the pattern can't move");
  const stranger = await register(proxy.url, 'https://evil.example.com/cb', { client_name: 'Claude' });
  await refused(stranger.client.client_id, CLAUDE_COM, "a client registered outside the pattern can't join it");

  const cursor = await register(proxy.url, CURSOR_HTTPS, { client_name: 'Cursor' });
  const app = await authorize(meta, { clientId: cursor.client.client_id, redirect: CURSOR_APP, scope: 'mcp' });
  t.ok(app.code, "Cursor registered its https callback, then uses the app's own scheme: accepted");
  const wild = await authorize(meta, {
    clientId: cursor.client.client_id,
    redirect: 'https://eu.cursor.sh/oauth/callback',
    scope: 'mcp',
  });
  t.ok(wild.code, 'a * in a pattern matches one host label');
  await refused(cursor.client.client_id, 'https://evil.com/x.cursor.sh/oauth/callback', '* never spans a "/"');
  await refused(cursor.client.client_id, 'https://a@b.cursor.sh/oauth/callback', 'nor userinfo');
});
