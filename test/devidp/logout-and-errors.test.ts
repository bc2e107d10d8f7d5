/** RP-initiated logout, cancel, and stale interaction pages on the standalone dev IdP. */
import t from 'tap';
import * as oidc from 'openid-client';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { discover, rpClient, rpLogin, rpLogout, POST_LOGOUT_URI, REDIRECT_URI } from './rp.js';

const alice = { username: 'alice', password: 'alice' };

t.test('dev IdP', async (t) => {
  const idp = await startStandaloneIdp({ clients: [rpClient], consent: true });
  t.teardown(() => idp.close());
  const config = await discover(idp.issuer);

  t.test('RP-initiated logout ends the IdP session', async (t) => {
    const jar = new CookieJar();
    const { tokens } = await rpLogin(config, alice, jar);
    t.ok(jar.get(idp.issuer, 'dev_idp_session'));

    const out = await rpLogout(config, tokens!.id_token!, jar);
    t.equal(out.finalUrl, `${POST_LOGOUT_URI}?state=bye-state`, 'back at the RP with its state');
    t.ok(
      out.hops.some((h) => h.startsWith('POST') && h.includes('/session/end/confirm')),
      'confirm form submitted',
    );

    const again = await rpLogin(config, alice, jar);
    t.ok(
      again.login.hops.some((h) => h.endsWith('/login')),
      'must log in again',
    );
    t.ok(again.tokens);
  });

  t.test('the logout page is a plain form (auto-submitted with an id_token_hint)', async (t) => {
    const jar = new CookieJar();
    const { tokens } = await rpLogin(config, alice, jar);
    const plain = oidc.buildEndSessionUrl(config, { client_id: rpClient.client_id });
    const res = await fetch(plain, { headers: { cookie: jar.header(plain)! } });
    t.equal(res.status, 200);
    const html = await res.text();
    t.match(
      html,
      /<form[^>]*method="post"[^>]*>[\s\S]*name="xsrf"[\s\S]*<button type="submit">Sign out<\/button><\/form>/,
    );
    t.notMatch(html, /forms\[0\]\.submit/, 'no auto-submit without id_token_hint');
    t.match(html, /not for production/);

    const hinted = oidc.buildEndSessionUrl(config, { id_token_hint: tokens!.id_token! });
    const res2 = await fetch(hinted, { headers: { cookie: jar.header(hinted)! } });
    t.match(await res2.text(), /forms\[0\]\.submit/, 'auto-submit with id_token_hint');
  });

  t.test('cancel at the login page returns access_denied to the client', async (t) => {
    const jar = new CookieJar();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: 's1',
    });
    const page = await headlessLogin({ startUrl: url.href, username: '', password: '', jar, submitForm: () => false });
    t.match(page.finalUrl, /\/interaction\/[^/]+$/);
    const abort = /href="([^"]+\/abort)"/.exec(page.body!)![1]!;
    const res = await headlessLogin({
      startUrl: new URL(abort, page.finalUrl).href,
      username: '',
      password: '',
      jar,
      stopAt: (u) => u.href.startsWith(REDIRECT_URI),
    });
    const back = new URL(res.finalUrl);
    t.equal(back.searchParams.get('error'), 'access_denied');
    t.equal(back.searchParams.get('state'), 's1');
  });

  t.test('a form posted without its interaction cookie gets an error page', async (t) => {
    const res = await fetch(`${idp.issuer}/interaction/nope/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice',
    });
    t.equal(res.status, 400);
    t.match(res.headers.get('content-type'), /text\/html/);
    t.match(await res.text(), /no longer valid/);
  });

  t.test('PKCE is required', async (t) => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 's2' });
    const res = await headlessLogin({
      startUrl: url.href,
      ...alice,
      jar: new CookieJar(),
      stopAt: (u) => u.href.startsWith(REDIRECT_URI),
    });
    t.equal(new URL(res.finalUrl).searchParams.get('error'), 'invalid_request');
  });

  t.test('pages escape what they echo', async (t) => {
    const jar = new CookieJar();
    const { login } = await rpLogin(config, { username: '<script>x</script>', password: 'no' }, jar);
    t.equal(login.response.status, 401);
    t.notMatch(login.body, /<script>x<\/script>/);
    t.match(login.body, /&lt;script&gt;x&lt;\/script&gt;/);
  });
});
