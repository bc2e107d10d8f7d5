/**
 * Refresh-token rotation under concurrency, on every store (memory, and real Redis and
 * PostgreSQL): N refresh_token grants sent at once with the same refresh token — exactly one
 * gets tokens; the others are reuse, so they get invalid_grant and the grant is revoked (the
 * winner's new refresh token and access token stop working too).
 */
import t from 'tap';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startPostgres, startRedis } from '../helpers/db-servers.js';
import { codeFlowTokens, register, tokenRequest } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { CLIENT_ID, CLIENT_SECRET } from '../helpers/stack.js';
import { INITIALIZE, MCP_ACCEPT } from '../helpers/session-client.js';

const N = 8;
const REDIRECT = 'http://127.0.0.1:33418/callback';
const [redis, postgres] = [await startRedis(), await startPostgres()];
t.teardown(() => Promise.all([redis.close(), postgres.close()]));
const stores = {
  memory: { kind: 'memory' },
  redis: { kind: 'redis', url: redis.url },
  postgres: { kind: 'postgres', url: postgres.url },
};
const ports = Object.fromEntries(
  await Promise.all(Object.keys(stores).map(async (k) => [k, await freePort()] as const)),
);
const idp = await startStandaloneIdp({
  consent: false,
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: Object.values(ports).map((p) => `http://127.0.0.1:${p}/oauth/callback`),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
  ],
});
t.teardown(() => idp.close());

for (const [name, store] of Object.entries(stores)) {
  t.test(`${name} store: ${N} concurrent refreshes with one refresh token`, async (t) => {
    const publicUrl = `http://127.0.0.1:${ports[name]}`;
    const backend = await startDemoHttpServer({ jwksUrl: `${publicUrl}/.well-known/jwks.json`, issuer: publicUrl });
    const proxy = await startProxy({
      server: { port: ports[name], publicUrl },
      oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      store,
      backends: [{ name: 'demo', http: { url: backend.url } }],
    });
    t.teardown(async () => {
      await proxy.close();
      await backend.close();
    });
    const { meta, client } = await register(publicUrl, REDIRECT);
    const resource = `${publicUrl}/mcp/demo`;
    const first = await codeFlowTokens(meta, {
      clientId: client.client_id,
      redirect: REDIRECT,
      resource,
      scope: 'mcp offline_access',
    });
    t.equal(first.status, 200);
    const refresh = {
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token!,
      client_id: client.client_id,
      resource,
    };

    const answers = await Promise.all(Array.from({ length: N }, () => tokenRequest(meta, refresh)));
    const won = answers.filter((a) => a.status === 200);
    t.equal(won.length, 1, `exactly one refresh succeeds (statuses: ${answers.map((a) => a.status).join(' ')})`);
    t.ok(
      answers.filter((a) => a.status !== 200).every((a) => a.status === 400 && a.body.error === 'invalid_grant'),
      'the others: invalid_grant',
    );

    const again = await tokenRequest(meta, { ...refresh, refresh_token: won[0]!.body.refresh_token! });
    t.equal(again.body.error, 'invalid_grant', "reuse revoked the grant: the winner's new refresh token is refused");
    const mcp = await fetch(resource, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${won[0]!.body.access_token}`,
        'content-type': 'application/json',
        accept: MCP_ACCEPT,
      },
      body: INITIALIZE,
    });
    t.equal(mcp.status, 401, "and the winner's access token");
  });
}
