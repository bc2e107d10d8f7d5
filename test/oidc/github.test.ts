// GitHub login end to end. GitHub (github.com, api.github.com) cannot be reached from the test
// machine, so test/helpers/github-standin.ts is a real HTTP server on loopback implementing
// GitHub's OAuth 2.0 endpoints and the /user, /user/emails, /user/orgs, /user/teams API as GitHub
// answers them; the github preset is pointed at it with `oidc.endpoints`. Everything else is
// real: the proxy, openid-client (hand-configured OAuth 2.0 server: state + PKCE, no nonce, no
// ID token), the session cookie, and the SDK-built demo MCP backend behind the proxy.
import t from 'tap';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startGithubStandin, type GithubUser } from '../helpers/github-standin.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { loginThroughProxy, mcpSession } from '../helpers/session-client.js';

const CLIENT_ID = 'Ov23liStandin0001';
const CLIENT_SECRET = 'github-standin-secret';
const octocat: GithubUser = {
  login: 'octocat',
  password: 'octocat',
  id: 583231,
  name: 'The Octocat',
  publicEmail: 'octocat@public.example',
  emails: [
    { email: 'old@example.com', primary: false, verified: false },
    { email: 'octocat@example.com', primary: true, verified: true },
    { email: 'octo@work.example', primary: false, verified: true },
  ],
  orgs: ['acme', 'octo-org'],
  teams: [
    { org: 'acme', slug: 'platform' },
    { org: 'octo-org', slug: 'admins' },
  ],
};
const nameless: GithubUser = {
  login: 'ghost',
  password: 'ghost',
  id: 10137,
  name: null,
  publicEmail: null,
  emails: [{ email: 'ghost@example.com', primary: true, verified: false }],
  orgs: ['acme'],
  teams: [],
};

const port = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
const github = await startGithubStandin({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  callback: `${publicUrl}/oauth/callback`,
  users: [octocat, nameless],
});
const backend = await startDemoHttpServer({ jwksUrl: `${publicUrl}/.well-known/jwks.json`, issuer: publicUrl });
t.teardown(async () => {
  await backend.close();
  await github.close();
});

const oidcFor = (extra: Record<string, unknown> = {}) => ({
  issuer: github.origin,
  provider: 'github',
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  scopes: ['read:user', 'user:email', 'read:org'],
  endpoints: github.endpoints,
  ...extra,
});
const status = async (url: string, cookie: string) =>
  (await (await fetch(`${url}/oauth/status`, { headers: { cookie } })).json()) as any;

t.test(
  'a browser login through GitHub: sub github:<id>, primary verified email, orgs and teams as groups',
  async (t) => {
    const proxy = await startProxy({
      server: { port, publicUrl },
      oidc: oidcFor(),
      backends: [{ name: 'demo', http: { url: backend.url } }],
    });
    t.teardown(() => proxy.close());
    github.requests.length = 0;
    const { cookie, result } = await loginThroughProxy(proxy.url, 'octocat', 'octocat', '/oauth/status');
    t.equal(result.finalUrl, `${proxy.url}/oauth/status`, 'back on returnTo');
    const s = await status(proxy.url, cookie);
    t.equal(s.authenticated, true);
    t.same(s.user, {
      sub: 'github:583231',
      email: 'octocat@example.com',
      name: 'The Octocat',
      groups: ['acme', 'octo-org', 'acme/platform', 'octo-org/admins'],
      tenant: null,
    });

    const auth = github.requests.find((r) => r.method === 'GET' && r.path === '/login/oauth/authorize')!;
    t.equal(auth.query.get('client_id'), CLIENT_ID);
    t.equal(auth.query.get('scope'), 'read:user user:email read:org');
    t.equal(auth.query.get('code_challenge_method'), 'S256', 'PKCE kept');
    t.ok(auth.query.get('state'), 'state kept');
    t.notOk(auth.query.has('nonce'), 'no nonce: GitHub is not OIDC');
    t.notOk(auth.query.has('resource'), 'no resource parameter upstream');
    const tok = github.requests.find((r) => r.path === '/login/oauth/access_token')!;
    t.match(tok.headers.accept, 'application/json', 'token request asks for JSON');
    const form = new URLSearchParams(tok.body);
    t.ok(form.get('code_verifier'), 'PKCE verifier sent');
    t.equal(form.get('client_secret'), CLIENT_SECRET, 'client_secret_post, as GitHub documents');
    t.same(
      github.requests
        .filter((r) => r.path.startsWith('/api/'))
        .map((r) => r.path)
        .sort(),
      ['/api/user', '/api/user/emails', '/api/user/orgs', '/api/user/teams'],
    );

    const mcp = await mcpSession(`${proxy.url}/mcp/demo`, { cookie });
    const res = await mcp.call('tools/list');
    t.equal(res.status, 200, 'the MCP call with the session cookie reaches the backend');
    await res.text();
    const seen = backend.seen.at(-1)!;
    t.equal(seen.headers['x-forwarded-user'], 'github:583231');
    t.equal(seen.headers['x-forwarded-email'], 'octocat@example.com');
    t.equal(seen.headers['x-forwarded-groups'], 'acme,octo-org,acme/platform,octo-org/admins');
    t.ok(seen.headers['x-mcp-proxy-assertion'], 'signed assertion sent');
  },
);

t.test(
  'without read:org there are no groups (and the org APIs are not called); no verified primary email: none from ' +
    '/user/emails',
  async (t) => {
    const proxy = await startProxy({
      server: { port, publicUrl },
      oidc: oidcFor({ scopes: undefined }),
      backends: [{ name: 'demo', http: { url: backend.url } }],
    });
    t.teardown(() => proxy.close());
    github.requests.length = 0;
    const { cookie } = await loginThroughProxy(proxy.url, 'ghost', 'ghost');
    const s = await status(proxy.url, cookie);
    t.same(
      s.user,
      { sub: 'github:10137', email: null, name: 'ghost', groups: [], tenant: null },
      'login as name, unverified address not used',
    );
    t.equal(
      github.requests.find((r) => r.path === '/login/oauth/authorize')!.query.get('scope'),
      'read:user user:email',
      'the preset default scopes',
    );
    t.notOk(github.requests.some((r) => r.path === '/api/user/orgs' || r.path === '/api/user/teams'));
  },
);

t.test('without user:email the public profile email is used', async (t) => {
  const proxy = await startProxy({
    server: { port, publicUrl },
    oidc: oidcFor({ scopes: ['read:user', 'read:org'] }),
    backends: [{ name: 'demo', http: { url: backend.url } }],
  });
  t.teardown(() => proxy.close());
  const { cookie } = await loginThroughProxy(proxy.url, 'octocat', 'octocat');
  const s = await status(proxy.url, cookie);
  t.equal(s.user.email, 'octocat@public.example');
  t.same(s.user.groups, ['acme', 'octo-org', 'acme/platform', 'octo-org/admins']);
});

t.test("GitHub's token errors (status 200 with an error field) become a clear login failure", async (t) => {
  const proxy = await startProxy({
    server: { port, publicUrl },
    oidc: oidcFor({ clientSecret: 'wrong-secret' }),
    backends: [{ name: 'demo', http: { url: backend.url } }],
  });
  t.teardown(() => proxy.close());
  const { result, cookie } = await loginThroughProxy(proxy.url, 'octocat', 'octocat');
  t.equal(result.response.status, 400);
  t.match(result.body, /login failed: .*client_id and\/or client_secret passed are incorrect/);
  t.equal((await status(proxy.url, cookie)).authenticated, false);
});
