/** Token endpoints of the dev IdP: introspection and revocation, each client for its own tokens. */
import t from 'tap';
import * as oidc from 'openid-client';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { discover, rpClient, rpLogin, REDIRECT_URI } from './rp.js';

const other = {
  ...rpClient,
  client_id: 'other-rp',
  client_secret: 'other-rp-secret-0123456789abcdef',
  redirect_uris: [REDIRECT_URI],
};

t.test('introspection and revocation', async (t) => {
  const idp = await startStandaloneIdp({ clients: [rpClient, other], consent: false });
  t.teardown(() => idp.close());
  const config = await discover(idp.issuer);
  const otherConfig = await oidc.discovery(new URL(idp.issuer), other.client_id, other.client_secret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const { tokens } = await rpLogin(config, { username: 'bob', password: 'bob' });

  const mine = await oidc.tokenIntrospection(config, tokens!.access_token);
  t.equal(mine.active, true);
  t.equal(mine.sub, 'bob');
  t.equal(mine.client_id, rpClient.client_id);
  const theirs = await oidc.tokenIntrospection(otherConfig, tokens!.access_token);
  t.equal(theirs.active, false, "another client cannot introspect this client's token");

  await oidc.tokenRevocation(otherConfig, tokens!.refresh_token!).catch(() => undefined);
  t.ok(await oidc.refreshTokenGrant(config, tokens!.refresh_token!), 'another client cannot revoke it');

  const { tokens: fresh } = await rpLogin(config, { username: 'bob', password: 'bob' });
  await oidc.tokenRevocation(config, fresh!.refresh_token!);
  const err = await oidc.refreshTokenGrant(config, fresh!.refresh_token!).then(
    () => undefined,
    (e: { error?: string }) => e,
  );
  t.equal(err?.error, 'invalid_grant', 'revoked');
});
