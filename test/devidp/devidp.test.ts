/** The standalone dev IdP (Okta-like issuer path) driven by openid-client 6 and the headless login. */
import t from 'tap';
import * as oidc from 'openid-client';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { CookieJar } from '../helpers/login.js';
import { discover, rpClient, rpLogin, REDIRECT_URI } from './rp.js';

const alice = { username: 'alice', password: 'alice' };

t.test('with consent', async (t) => {
  const idp = await startStandaloneIdp({ clients: [rpClient], consent: true });
  t.teardown(() => idp.close());

  t.test('discovery document', async (t) => {
    t.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+\/oauth2\/default$/);
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    t.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    t.equal(doc.issuer, idp.issuer);
    t.ok((doc.code_challenge_methods_supported as string[]).includes('S256'));
    t.equal(doc.end_session_endpoint, `${idp.issuer}/session/end`);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
      t.ok(String(doc[key]).startsWith(`${idp.issuer}/`), `${key} under the issuer path`);
    }
    t.ok((doc.claims_supported as string[]).includes('groups'));
    t.ok((doc.scopes_supported as string[]).includes('groups'));
    const jwks = (await (await fetch(String(doc.jwks_uri))).json()) as { keys: Array<{ kty: string; d?: string }> };
    t.equal(jwks.keys[0]?.kty, 'RSA');
    t.notOk(jwks.keys[0]?.d, 'no private key material published');
  });

  t.test('alice logs in through the login and consent forms', async (t) => {
    const config = await discover(idp.issuer);
    const jar = new CookieJar();
    const { login, tokens } = await rpLogin(config, alice, jar);
    t.ok(
      login.hops.some((h) => h.startsWith('POST') && h.endsWith('/login')),
      'login form submitted',
    );
    t.ok(
      login.hops.some((h) => h.startsWith('POST') && h.endsWith('/confirm')),
      'consent form submitted',
    );
    t.ok(login.finalUrl.startsWith(`${REDIRECT_URI}?code=`));
    t.ok(tokens, 'tokens received');
    const claims = tokens!.claims()!;
    t.equal(claims.sub, 'alice');
    t.equal(claims.iss, idp.issuer);
    t.equal(claims.email, 'alice@example.com');
    t.equal(claims.email_verified, true);
    t.same(claims.groups, ['admin', 'support'], 'groups claim in the ID token');

    const info = await oidc.fetchUserInfo(config, tokens!.access_token, 'alice');
    t.equal(info.email, 'alice@example.com');
    t.same(info.groups, ['admin', 'support']);

    t.ok(tokens!.refresh_token, 'refresh token issued');
    const refreshed = await oidc.refreshTokenGrant(config, tokens!.refresh_token!);
    t.ok(refreshed.access_token);
    t.not(refreshed.access_token, tokens!.access_token);
    t.same(refreshed.claims()?.groups, ['admin', 'support'], 'refreshed ID token keeps groups');

    // A second login in the same browser reuses the IdP session: no form at all.
    const again = await rpLogin(config, { username: 'nobody', password: 'x' }, jar);
    t.ok(again.tokens, 'single sign-on');
    t.equal(again.tokens!.claims()!.sub, 'alice');
    t.notOk(
      again.login.hops.some((h) => h.startsWith('POST')),
      'no form submitted',
    );
  });

  t.test('a wrong password shows the form again and does not log in', async (t) => {
    const config = await discover(idp.issuer);
    const jar = new CookieJar();
    const { login, tokens } = await rpLogin(config, { username: 'alice', password: 'wrong' }, jar);
    t.notOk(tokens);
    t.equal(login.response.status, 401);
    t.match(login.finalUrl, /\/oauth2\/default\/interaction\/[^/]+\/login$/);
    t.match(login.body, /Wrong username or password/);
    t.match(login.body, /name="username"[^>]*value="alice"/, 'username kept');
    t.match(login.body, /not for production/);
    t.notOk(jar.get(idp.issuer, 'dev_idp_session'), 'no IdP session');
    t.notOk(login.hops.some((h) => h.includes('/confirm')));
  });

  t.test('an unknown user is refused the same way', async (t) => {
    const config = await discover(idp.issuer);
    const { login, tokens } = await rpLogin(config, { username: 'mallory', password: 'alice' });
    t.notOk(tokens);
    t.equal(login.response.status, 401);
  });

  t.test('bob gets his own groups', async (t) => {
    const config = await discover(idp.issuer);
    const { tokens } = await rpLogin(config, { username: 'bob', password: 'bob' });
    t.equal(tokens!.claims()!.sub, 'bob');
    t.same(tokens!.claims()!.groups, ['support']);
  });

  t.test('cookies carry the configured names', async (t) => {
    const config = await discover(idp.issuer);
    const jar = new CookieJar();
    await rpLogin(config, alice, jar);
    t.ok(jar.get(`${idp.issuer}/auth`, 'dev_idp_session'));
    t.notOk(jar.get(`${idp.issuer}/auth`, '_session'), 'never the default name');
  });
});

t.test('without consent the consent page is skipped', async (t) => {
  const idp = await startStandaloneIdp({
    clients: [rpClient],
    consent: false,
    users: [{ username: 'carol', password: 's3cret', groups: ['ops'] }],
  });
  t.teardown(() => idp.close());
  const config = await discover(idp.issuer);
  const { login, tokens } = await rpLogin(config, { username: 'carol', password: 's3cret' });
  t.ok(tokens);
  t.notOk(
    login.hops.some((h) => h.endsWith('/confirm')),
    'no consent form',
  );
  t.equal(login.hops.filter((h) => h.startsWith('POST')).length, 1, 'one form: the login');
  const claims = tokens!.claims()!;
  t.equal(claims.sub, 'carol');
  t.same(claims.groups, ['ops']);
  t.equal(claims.email, undefined, 'no email configured');
  t.ok(tokens!.refresh_token);
});
