/**
 * Entra ID and Okta org issuers (the `entra` and `okta` presets, issuer shapes as the vendors
 * publish them) behind the proxy's authorization server: an MCP client sends `resource` (RFC
 * 8707) to the proxy, and the proxy's login at the IdP never passes it on — Entra v2 refuses
 * it — at the authorization or the token endpoint; the token exchange of `dialect: okta` / `entra`
 * then trades the login kept with the grant, and its token reaches the backend. The IdP is the real
 * test IdP (oidc-provider) at those issuer paths, recording every request it answers.
 */
import t from 'tap';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { postRecorded, startRecorder } from '../helpers/hostile.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { INITIALIZE } from '../helpers/session-client.js';
import { CLIENT_ID, CLIENT_SECRET } from '../helpers/stack.js';
import { addOnBehalfOf, addTokenExchange, JWT_BEARER, TOKEN_EXCHANGE } from '../helpers/upstream-idp.js';

const REDIRECT = 'http://127.0.0.1:33418/callback';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const presets = [
  {
    provider: 'okta',
    issuerPath: '', // the org authorization server: https://<org>.okta.com
    upstream: { kind: 'tokenExchange', dialect: 'okta', audience: 'api://crm', scopes: ['crm.read'] },
    // Even when the operator asks for it: the proxy drops it (the test IdP would answer invalid_target).
    oidc: { extraAuthParams: { resource: 'https://crm.example.com' } },
    grant: TOKEN_EXCHANGE,
    scopeAtLogin: ['openid', 'profile', 'email', 'offline_access', 'groups'],
  },
  {
    provider: 'entra',
    issuerPath: `/${TENANT}/v2.0`,
    upstream: { kind: 'tokenExchange', dialect: 'entra', scopes: ['api://crm/.default'] },
    oidc: {}, // the entra preset refuses oidc.extraAuthParams.resource at check-config
    grant: JWT_BEARER,
    scopeAtLogin: ['openid', 'profile', 'email', 'offline_access'],
  },
] as const;

for (const preset of presets) {
  t.test(`${preset.provider} org issuer: no resource upstream, token exchange with its dialect`, async (t) => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const idp = await startStandaloneIdp({
      consent: false,
      issuerPath: preset.issuerPath,
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${publicUrl}/oauth/callback`],
          grant_types: ['authorization_code', 'refresh_token', preset.grant],
          response_types: ['code'],
        },
      ],
    });
    // What the IdP was sent: the authorization requests as they arrived (query), the token requests' form bodies.
    const seen: Array<{ path: string; params: Record<string, unknown> }> = [];
    const note = (ctx: any) => seen.push({ path: ctx.path, params: { ...ctx.query, ...ctx.oidc?.body } });
    idp.provider.on('interaction.started', note);
    idp.provider.on('authorization.accepted', note);
    idp.provider.on('grant.success', note);
    idp.provider.on('grant.error', note);
    const exchanges = preset.grant === TOKEN_EXCHANGE ? addTokenExchange(idp.provider) : addOnBehalfOf(idp.provider);
    const rec = await startRecorder();
    const proxy = await startProxy({
      server: { port, publicUrl },
      oidc: {
        provider: preset.provider,
        issuer: idp.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        ...preset.oidc,
      },
      backends: [{ name: 'crm', http: { url: rec.url }, upstream: preset.upstream }],
    });
    t.teardown(async () => {
      await proxy.close();
      await idp.close();
      await rec.close();
    });
    t.equal(idp.issuer, `http://127.0.0.1:${new URL(idp.issuer).port}${preset.issuerPath}`, 'the issuer shape');

    const resource = `${publicUrl}/mcp/crm`;
    const { meta, client } = await register(publicUrl, REDIRECT);
    const tok = await codeFlowTokens(meta, { clientId: client.client_id, redirect: REDIRECT, resource });
    t.equal(tok.status, 200, 'the MCP client got its token');

    const auth = seen.filter((s) => /\/auth(\/|$)/.test(s.path) && s.params.client_id);
    t.ok(auth.length >= 1, 'the login went through the IdP');
    for (const a of auth) {
      t.notOk('resource' in a.params, `no resource at the authorization endpoint (${Object.keys(a.params).join(' ')})`);
      t.same(String(a.params.scope).split(' ').sort(), [...preset.scopeAtLogin].sort(), "the preset's scopes");
    }
    const tokenCalls = seen.filter((s) => s.path.endsWith('/token'));
    t.ok(tokenCalls.length >= 1, 'and its token endpoint');
    for (const c of tokenCalls)
      t.notOk('resource' in c.params, `no resource at the token endpoint (${c.params.grant_type})`);

    const r = await postRecorded(rec, resource, { authorization: `Bearer ${tok.body.access_token}` }, INITIALIZE);
    t.equal(r.status, 200, 'the backend answered');
    t.equal(exchanges.length, 1, 'one exchange at the IdP');
    const x = exchanges[0]!;
    t.equal(x.accountId, 'alice', "the user's own login was the subject");
    t.equal(x.params.grant_type, preset.grant);
    if (preset.provider === 'okta') {
      t.equal(x.params.audience, 'api://crm');
      t.equal(x.params.scope, 'crm.read');
    } else {
      t.equal(x.params.requested_token_use, 'on_behalf_of');
      t.equal(x.params.scope, 'api://crm/.default');
    }
    t.notOk('resource' in x.params, 'no resource in the exchange either (none configured)');
    t.equal(
      r.seen[0]!.headers.authorization,
      `Bearer ${x.token}`,
      "the exchanged token reaches the backend, not the client's",
    );
  });
}
