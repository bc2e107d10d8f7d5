// The preset modules on their own: claims → identity per IdP, authorization parameters, and
// the config checks, with settings as check-config would resolve them.
import t from 'tap';
import { auth0 } from '../../src/oidc/providers/auth0.js';
import { entra } from '../../src/oidc/providers/entra.js';
import { githubEndpoints, github } from '../../src/oidc/providers/github.js';
import { google } from '../../src/oidc/providers/google.js';
import { keycloak, stripGroupPath } from '../../src/oidc/providers/keycloak.js';
import { okta } from '../../src/oidc/providers/okta.js';
import {
  LoginRefused,
  oidcProblems,
  resolveOidc,
  upstreamAuthParams,
  type OidcSettings,
} from '../../src/oidc/providers/index.js';

const settings = (o: Partial<OidcSettings> & { issuer: string }): OidcSettings =>
  resolveOidc({
    clientId: 'c',
    clientSecret: 's',
    groupsClaim: 'groups',
    allowInsecure: false,
    extraAuthParams: {},
    allowedDomains: [],
    ...o,
  });

t.test('keycloak: group paths lose their leading "/"; names stay as they are', async (t) => {
  const s = settings({ issuer: 'https://sso.example.com/realms/mcp' });
  t.equal(s.provider, 'keycloak');
  t.same(keycloak.claims({ sub: 'u1', groups: ['/admins', '/eng/backend', 'plain', '/'] }, undefined, s).groups, [
    'admins',
    'eng/backend',
    'plain',
  ]);
  t.same(
    keycloak.claims({ sub: 'u1' }, { groups: ['/from-userinfo'] }, s).groups,
    ['from-userinfo'],
    'userinfo groups too',
  );
  t.equal(stripGroupPath('//odd'), 'odd');
});

t.test('entra: email, else preferred_username, else upn — only when it is an address', async (t) => {
  const s = settings({ issuer: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0' });
  t.equal(s.provider, 'entra');
  const id = (c: Record<string, unknown>, info?: Record<string, unknown>) =>
    entra.claims({ sub: 'pairwise-sub', ...c }, info, s);
  t.equal(id({ email: 'a@contoso.com', preferred_username: 'b@contoso.com' }).email, 'a@contoso.com', 'email wins');
  t.equal(id({ preferred_username: 'b@contoso.com', upn: 'c@contoso.com' }).email, 'b@contoso.com');
  t.equal(id({ preferred_username: 'not-an-address', upn: 'c@contoso.com' }).email, 'c@contoso.com');
  t.equal(id({}, { upn: 'd@contoso.com' }).email, 'd@contoso.com', 'from userinfo');
  t.equal(id({ preferred_username: 'nobody' }).email, undefined);
  const guid = '5d3a1c2e-0000-4000-8000-00000000abcd';
  t.same(id({ groups: [guid] }).groups, [guid], 'GUID groups untouched');
  t.equal(id({ preferred_username: 'b@contoso.com', name: 'Bea' }).name, 'Bea');
});

t.test('entra config: v2.0 of one tenant only', async (t) => {
  const errors = (issuer: string, extra: Partial<OidcSettings> = {}) =>
    entra.validateConfig(settings({ issuer, provider: 'entra', ...extra })).errors.join('\n');
  t.equal(errors('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0'), '');
  t.match(errors('https://login.microsoftonline.com/common/v2.0'), 'multi-tenant "common"');
  t.match(errors('https://login.microsoftonline.com/Organizations/v2.0'), 'multi-tenant "Organizations"');
  t.match(errors('https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/'), 'v2.0 endpoint of one tenant');
  t.match(
    errors('https://login.microsoftonline.com/t/v2.0', {
      extraAuthParams: { resource: 'https://graph.microsoft.com' },
    }),
    'refuses the resource parameter',
  );
});

t.test('resource is never an upstream parameter; extraAuthParams win over a preset', async (t) => {
  for (const issuer of [
    'https://login.microsoftonline.com/t/v2.0',
    'https://dev-1.okta.com/oauth2/default',
    'https://idp.example.com',
    'https://github.com',
  ])
    t.notOk(
      'resource' in
        upstreamAuthParams(
          settings({ issuer, extraAuthParams: { resource: 'https://api.example.com', prompt: 'login' } }),
        ),
      issuer,
    );
  t.same(upstreamAuthParams(settings({ issuer: 'https://acme.us.auth0.com/', audience: 'https://api.example.com' })), {
    audience: 'https://api.example.com',
  });
  t.same(
    upstreamAuthParams(
      settings({ issuer: 'https://acme.us.auth0.com/', audience: 'a', extraAuthParams: { audience: 'b' } }),
    ),
    { audience: 'b' },
  );
  t.same(auth0.authParams(settings({ issuer: 'https://acme.us.auth0.com/' })), {}, 'no audience configured, none sent');
  t.match(
    oidcProblems(settings({ issuer: 'https://idp.example.com', extraAuthParams: { resource: 'x' } })).warnings.join(
      '\n',
    ),
    'resource is never sent',
  );
});

t.test('google: hd must be in the allow-list; hd parameter only for exactly one domain', async (t) => {
  const one = settings({ issuer: 'https://accounts.google.com', allowedDomains: ['example.com'] });
  t.same(google.authParams(one), { hd: 'example.com' });
  t.same(
    google.authParams(settings({ issuer: 'https://accounts.google.com', allowedDomains: ['a.example', 'b.example'] })),
    {},
  );
  t.equal(
    google.claims({ sub: '1', hd: 'EXAMPLE.com', email: 'a@example.com' }, undefined, one).email,
    'a@example.com',
  );
  t.throws(() => google.claims({ sub: '2', hd: 'evil.example' }, undefined, one), LoginRefused);
  t.throws(() => google.claims({ sub: '3' }, undefined, one), { message: /no domain/ });
  t.equal(
    google.claims({ sub: '4' }, undefined, settings({ issuer: 'https://accounts.google.com' })).sub,
    '4',
    'no allow-list: anyone',
  );
  t.match(
    google.validateConfig(settings({ issuer: 'https://accounts.google.com' })).warnings.join('\n'),
    'any Google account can log in',
  );
  t.match(
    oidcProblems(settings({ issuer: 'https://idp.example.com', allowedDomains: ['x.example'] })).warnings.join('\n'),
    'oidc.allowedDomains has no effect with provider "generic"',
  );
});

t.test('okta: org vs custom authorization server', async (t) => {
  t.same(okta.defaultScopes(settings({ issuer: 'https://dev-1.okta.com' })), [
    'openid',
    'profile',
    'email',
    'offline_access',
    'groups',
  ]);
  t.same(okta.defaultScopes(settings({ issuer: 'https://dev-1.okta.com/oauth2/default' })), [
    'openid',
    'profile',
    'email',
    'offline_access',
  ]);
  t.match(
    okta
      .validateConfig(settings({ issuer: 'https://dev-1.okta.com', scopes: ['openid', 'email'] }))
      .warnings.join('\n'),
    'lacks "groups"',
  );
  t.same(okta.validateConfig(settings({ issuer: 'https://dev-1.okta.com/oauth2/default', scopes: ['openid'] })), {
    errors: [],
    warnings: [],
  });
  t.match(
    oidcProblems(settings({ issuer: 'https://dev-1.okta.com/oauth2/default', provider: 'google' })).warnings.join('\n'),
    'looks like okta',
  );
});

t.test('github: endpoints by default and overridden; claims from the API user', async (t) => {
  t.same(githubEndpoints(settings({ issuer: 'https://github.com' })), {
    authorization: 'https://github.com/login/oauth/authorize',
    token: 'https://github.com/login/oauth/access_token',
    userinfo: 'https://api.github.com/user',
  });
  t.same(
    githubEndpoints(settings({ issuer: 'https://ghe.example.com', provider: 'github' })).userinfo,
    'https://ghe.example.com/api/v3/user',
    'GitHub Enterprise Server',
  );
  t.equal(
    githubEndpoints(settings({ issuer: 'https://github.com', endpoints: { token: 'https://t.example/x' } })).token,
    'https://t.example/x',
  );
  const s = settings({ issuer: 'https://github.com' });
  t.same(s.scopes, ['read:user', 'user:email']);
  t.same(
    github.claims(
      {},
      { sub: 'github:1', name: 'Mona', email: 'm@example.com', groups: ['acme', 'acme/eng'] },
      { ...s, groupsClaim: 'roles' },
    ),
    { sub: 'github:1', email: 'm@example.com', name: 'Mona', groups: ['acme', 'acme/eng'] },
  );
  t.match(
    github
      .validateConfig(settings({ issuer: 'https://github.com', scopes: ['openid', 'read:user'] }))
      .warnings.join('\n'),
    /not GitHub scopes[\s\S]*read:org/,
  );
});
