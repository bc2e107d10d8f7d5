// IdP presets (oidc.provider): every config/*.yaml validates with the real CLI given the
// environment it documents; the provider is inferred from the issuer; Entra's multi-tenant
// endpoints are refused; and no preset ever sends the RFC 8707 `resource` parameter upstream —
// checked on the authorization URL /oauth/login redirects to, with a real OpenID Provider
// (oidc-provider, src/devidp) standing at each IdP's issuer path.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { loadConfig } from '../../src/app/config.js';
import { inferProvider } from '../../src/oidc/providers/index.js';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import type { DevUser } from '../../src/devidp/provider.js';
import { CookieJar } from '../helpers/login.js';
import { authorizeUrl, pkce, register } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { TEST_SESSION_KEY, startProxy } from '../helpers/proxy.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { runCli } from '../helpers/spawn.js';

// What each preset's header comment says to export.
const ENV = { OIDC_CLIENT_SECRET: 'a-client-secret', SESSION_KEY: TEST_SESSION_KEY };
const PROVIDERS: Record<string, string> = {
  'auth0.yaml': 'auth0',
  'dev.yaml': 'generic',
  'entra.yaml': 'entra',
  'example.yaml': 'okta',
  'github.yaml': 'github',
  'google.yaml': 'google',
  'keycloak.yaml': 'keycloak',
  'okta.yaml': 'okta',
};
const printed = (stdout: string) => JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1));

t.test('every config/*.yaml passes check-config with the environment it documents', async (t) => {
  const files = readdirSync(new URL('../../config/', import.meta.url)).filter(
    (f) => f.endsWith('.yaml') && f !== 'proxy.yaml',
  );
  t.same(
    files.filter((f) => !(f in PROVIDERS)),
    [],
    'every preset file is covered here',
  );
  await Promise.all(
    files.map(async (f) => {
      const r = await runCli(['check-config', '--config', `config/${f}`], ENV);
      t.equal(r.code, 0, `${f}: ${r.stderr}`);
      t.match(r.stdout, 'configuration OK', f);
      t.equal(printed(r.stdout).oidc.provider, PROVIDERS[f], `${f} selects ${PROVIDERS[f]}`);
      if (f !== 'example.yaml') t.notMatch(r.stdout, 'warning:', `${f}: no warnings`);
      t.notMatch(r.stdout, 'a-client-secret', `${f}: secret masked`);
    }),
  );
});

t.test('the provider is inferred from the issuer when unambiguous', async (t) => {
  const cases: Array<[string, string]> = [
    ['https://dev-123456.okta.com/oauth2/default', 'okta'],
    ['https://dev-123456.okta.com', 'okta'],
    ['https://acme.oktapreview.com/oauth2/aus1', 'okta'],
    ['https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0', 'entra'],
    ['https://accounts.google.com', 'google'],
    ['https://github.com', 'github'],
    ['https://acme.eu.auth0.com/', 'auth0'],
    ['https://sso.example.com/realms/mcp', 'keycloak'],
    ['https://sso.example.com/auth/realms/mcp', 'keycloak'],
    ['https://idp.example.com', 'generic'],
    ['https://notokta.com.example.net', 'generic'],
    ['https://evil-okta.com', 'generic'],
    ['not a url', 'generic'],
  ];
  for (const [issuer, name] of cases) t.equal(inferProvider(issuer), name, issuer);

  const load = (oidc: Record<string, unknown>) =>
    loadConfig({
      env: {},
      doc: {
        oidc: { clientId: 'c', clientSecret: 's', ...oidc },
        session: { keys: [TEST_SESSION_KEY] },
        backends: [{ name: 'a', http: { url: 'http://127.0.0.1:9/mcp' } }],
      },
    });
  const org = load({ issuer: 'https://dev-1.okta.com' }).config!.oidc!;
  t.equal(org.provider, 'okta');
  t.same(
    org.scopes,
    ['openid', 'profile', 'email', 'offline_access', 'groups'],
    "Okta's org server: the groups scope by default",
  );
  t.same(
    load({ issuer: 'https://dev-1.okta.com/oauth2/default' }).config!.oidc!.scopes,
    ['openid', 'profile', 'email', 'offline_access'],
    'custom server: no groups scope',
  );
  t.same(load({ issuer: 'https://sso.example.com/realms/mcp' }).config!.oidc!.scopes, ['openid', 'profile', 'email']);
  t.same(load({ issuer: 'https://accounts.google.com' }).config!.oidc!.scopes, ['openid', 'profile', 'email']);
  t.same(
    load({ issuer: 'https://idp.example.com', scopes: ['openid'] }).config!.oidc!.scopes,
    ['openid'],
    'explicit scopes are kept',
  );
  t.equal(
    load({ issuer: 'https://login.example.com/oauth2/default', provider: 'okta' }).config!.oidc!.provider,
    'okta',
    'explicit provider for a custom domain',
  );
  const env = loadConfig({
    env: { MCP_PROXY_OIDC_PROVIDER: 'keycloak' },
    doc: {
      oidc: { issuer: 'https://sso.example.com/realms/x', clientId: 'c', clientSecret: 's' },
      session: { keys: [TEST_SESSION_KEY] },
      backends: [{ name: 'a', http: { url: 'http://127.0.0.1:9/mcp' } }],
    },
  });
  t.equal(env.config?.oidc?.provider, 'keycloak', 'MCP_PROXY_OIDC_PROVIDER works');
  t.match(
    load({ issuer: 'https://idp.example.com', provider: 'azure' }).problems.join('\n'),
    /oidc\.provider/,
    'an unknown provider is a problem',
  );
});

t.test("check-config refuses Entra's multi-tenant and v1 endpoints", async (t) => {
  for (const issuer of [
    'https://login.microsoftonline.com/common/v2.0',
    'https://login.microsoftonline.com/organizations/v2.0',
    'https://login.microsoftonline.com/consumers/v2.0',
  ]) {
    const r = await runCli(['check-config', '--config', 'config/entra.yaml'], {
      ...ENV,
      MCP_PROXY_OIDC_ISSUER: issuer,
    });
    t.equal(r.code, 1, issuer);
    t.match(r.stderr, /oidc\.issuer: the multi-tenant "(common|organizations|consumers)" endpoint is not supported/);
  }
  const v1 = await runCli(['check-config', '--config', 'config/entra.yaml'], {
    ...ENV,
    MCP_PROXY_OIDC_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000',
  });
  t.equal(v1.code, 1);
  t.match(v1.stderr, 'v2.0 endpoint of one tenant');
  const resource = await runCli(['check-config', '--config', 'config/entra.yaml'], {
    ...ENV,
    MCP_PROXY_OIDC_EXTRA_AUTH_PARAMS: '{"resource":"https://graph.microsoft.com"}',
  });
  t.equal(resource.code, 1);
  t.match(resource.stderr, 'Entra ID v2.0 refuses the resource parameter');
});

t.test(
  'check-config warns about Okta org-server groups without the groups scope, and refuses malformed preset issuers',
  async (t) => {
    const r = await runCli(['check-config', '--config', 'config/okta.yaml'], {
      ...ENV,
      OKTA_ORG_URL: 'https://dev-123456.okta.com',
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, 'warning: oidc.groupsClaim is "groups" but oidc.scopes lacks "groups"');
    const fixed = await runCli(['check-config', '--config', 'config/okta.yaml'], {
      ...ENV,
      OKTA_ORG_URL: 'https://dev-123456.okta.com',
      MCP_PROXY_OIDC_SCOPES: 'openid,profile,email,groups',
    });
    t.notMatch(fixed.stdout, 'warning:');
    const problems = (oidc: Record<string, unknown>) =>
      loadConfig({
        env: {},
        doc: {
          oidc: { clientId: 'c', clientSecret: 's', ...oidc },
          session: { keys: [TEST_SESSION_KEY] },
          backends: [{ name: 'a', http: { url: 'http://127.0.0.1:9/mcp' } }],
        },
      }).problems.join('\n');
    t.match(problems({ issuer: 'https://dev-1-admin.okta.com' }), 'is the Okta admin console');
    t.match(problems({ issuer: 'https://dev-1.okta.com/oauth2/default/' }), 'an Okta issuer is');
    t.match(problems({ issuer: 'https://dev-1.okta.com/' }), 'an Okta issuer is');
    t.match(problems({ issuer: 'https://acme.us.auth0.com' }), 'an Auth0 issuer ends with "/"');
    t.match(problems({ issuer: 'https://sso.example.com/auth', provider: 'keycloak' }), 'a Keycloak issuer is a realm');
    t.match(
      problems({
        issuer: 'https://github.com',
        endpoints: { token: 'http://ghe.example.com/login/oauth/access_token' },
      }),
      'oidc.endpoints.token: a plain-http endpoint is refused',
    );
    t.equal(problems({ issuer: 'https://acme.us.auth0.com/', audience: 'https://api.example.com' }), '');
  },
);

// --- live: a real OpenID Provider at each IdP's issuer path --------------------------------

const CLIENT_ID = 'preset-client';
const CLIENT_SECRET = 'preset-client-secret-0123456789';

async function presetStack(
  t: { teardown(fn: () => Promise<void>): void },
  issuerPath: string,
  oidc: Record<string, unknown>,
  users?: DevUser[],
) {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startStandaloneIdp({
    issuerPath,
    consent: false,
    users,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${publicUrl}/oauth/callback`],
        post_logout_redirect_uris: [`${publicUrl}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
  });
  const proxy = await startProxy({
    server: { port, publicUrl },
    oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...oidc },
    backends: [{ name: 'demo', http: { url: 'http://127.0.0.1:9/mcp' } }],
  });
  t.teardown(async () => {
    await proxy.close();
    await idp.close();
  });
  return { idp, proxy };
}

/**
 * Follow redirects (with cookies) from `start` until the first
 * URL outside the proxy: the upstream authorization request.
 */
async function upstreamAuthorization(proxyUrl: string, start: string): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(start, proxyUrl);
  for (let i = 0; i < 10 && url.origin === new URL(proxyUrl).origin; i++) {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'text/html', ...(jar.header(url) ? { cookie: jar.header(url)! } : {}) },
    });
    jar.setFromResponse(url, res);
    await res.body?.cancel();
    if (!res.headers.get('location')) throw new Error(`${url.href}: ${res.status} without a redirect`);
    url = new URL(res.headers.get('location')!, url);
  }
  return url;
}

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const PRESETS: Array<{ name: string; path: string; oidc: Record<string, unknown>; expect: Record<string, string> }> = [
  {
    name: 'okta',
    path: '/oauth2/default',
    oidc: { provider: 'okta', extraAuthParams: { resource: 'https://api.example.com' } },
    expect: { scope: 'openid profile email offline_access' },
  },
  {
    name: 'keycloak',
    path: '/realms/mcp',
    oidc: { extraAuthParams: { resource: 'https://api.example.com' } },
    expect: { scope: 'openid profile email' },
  },
  {
    name: 'auth0',
    path: '/',
    oidc: {
      provider: 'auth0',
      groupsClaim: 'https://mcp.example.com/groups',
      audience: 'https://api.example.com',
      extraAuthParams: { resource: 'https://api.example.com' },
    },
    expect: { audience: 'https://api.example.com' },
  },
  {
    name: 'entra',
    path: `/${TENANT}/v2.0`,
    oidc: { provider: 'entra' },
    expect: { scope: 'openid profile email offline_access' },
  },
  {
    name: 'google',
    path: '',
    oidc: {
      provider: 'google',
      allowedDomains: ['example.com'],
      extraAuthParams: { resource: 'https://api.example.com' },
    },
    expect: { hd: 'example.com', scope: 'openid profile email' },
  },
  {
    name: 'generic',
    path: '/oidc',
    oidc: { extraAuthParams: { resource: 'https://api.example.com', prompt: 'login' } },
    expect: { prompt: 'login' },
  },
];

for (const p of PRESETS) {
  t.test(
    `${p.name}: no resource parameter upstream, from /oauth/login or from an MCP client's authorization request`,
    async (t) => {
      const { idp, proxy } = await presetStack(t, p.path, p.oidc);
      t.equal(proxy.config.oidc!.provider, p.name);
      const direct = await upstreamAuthorization(proxy.url, '/oauth/login');
      t.equal(
        `${direct.origin}${direct.pathname}`,
        `${idp.origin}${p.path.replace(/\/$/, '')}/auth`,
        'redirected to the IdP',
      );
      t.notOk(direct.searchParams.has('resource'), 'no resource from /oauth/login');
      for (const [k, v] of Object.entries(p.expect)) t.equal(direct.searchParams.get(k), v, `${k}=${v}`);
      // An MCP client names the proxy's MCP endpoint as its resource; it stays between the client and the proxy.
      const { meta, client } = await register(proxy.url);
      const viaAs = await upstreamAuthorization(
        proxy.url,
        authorizeUrl(meta, {
          client_id: client.client_id,
          redirect_uri: 'http://127.0.0.1:33418/callback',
          code_challenge: pkce().challenge,
          resource: `${proxy.url}/mcp`,
        }),
      );
      t.equal(viaAs.origin, idp.origin, 'the AS login went upstream');
      t.notOk(viaAs.searchParams.has('resource'), "the MCP client's resource is not forwarded");
    },
  );
}

t.test(
  'live logins: Keycloak group paths lose their leading "/", Entra falls back to preferred_username for email',
  async (t) => {
    const kc = await presetStack(t, '/realms/mcp', {}, [
      { username: 'kim', password: 'kim', email: 'kim@example.com', groups: ['/admins', '/eng/backend'] },
    ]);
    const k = await loginThroughProxy(kc.proxy.url, 'kim');
    const ks = (await (await fetch(`${kc.proxy.url}/oauth/status`, { headers: { cookie: k.cookie } })).json()) as any;
    t.same(ks.user.groups, ['admins', 'eng/backend']);
    const guid = '5d3a1c2e-0000-4000-8000-00000000abcd';
    const en = await presetStack(t, `/${TENANT}/v2.0`, { provider: 'entra' }, [
      { username: 'carol@contoso.example', password: 'carol', groups: [guid] },
    ]);
    const e = await loginThroughProxy(en.proxy.url, 'carol@contoso.example', 'carol');
    const es = (await (await fetch(`${en.proxy.url}/oauth/status`, { headers: { cookie: e.cookie } })).json()) as any;
    t.equal(es.user.email, 'carol@contoso.example', 'no email claim: preferred_username stands in');
    t.same(es.user.groups, [guid], 'groups are object IDs, passed as they are');
  },
);
