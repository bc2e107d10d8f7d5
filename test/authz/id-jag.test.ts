// Enterprise-Managed Authorization: a configured client presents an ID-JAG (jwt-bearer grant) signed by
// an enterprise IdP (keys on a loopback JWKS server, or inline) and gets the proxy's own access token for
// the asserted user, who reaches a backend as that user; every way an ID-JAG can be wrong is refused.
import t from 'tap';
import { createServer } from 'node:http';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { startIdpFor, CLIENT_ID, CLIENT_SECRET } from '../helpers/stack.js';
import { startProxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/ports.js';
import { postRecorded, startRecorder } from '../helpers/hostile.js';
import { loadConfig } from '../../src/app/config.js';
import { dpopProof, newDpopKey } from '../helpers/dpop.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ENT = 'https://acme.okta.example';
const DOWN = 'https://down.okta.example';
const AGENT = { id: 'agent', secret: 'agent-secret-0123456789abcdef' };
const OTHER = { id: 'other-agent', secret: 'other-secret-0123456789abcdef' };
const POWER = { id: 'power-agent', secret: 'power-secret-0123456789abcdef' };

const entKeys = await generateKeyPair('RS256');
const rogueKeys = await generateKeyPair('RS256');
const loginKeys = await generateKeyPair('ES256');
const entJwk = { ...(await exportJWK(entKeys.publicKey)), kid: 'ent-1', alg: 'RS256', use: 'sig' };
const loginJwk = { ...(await exportJWK(loginKeys.publicKey)), kid: 'login-1', alg: 'ES256', use: 'sig' };
let jwksFetches = 0;
const jwksServer = createServer((_req, res) => {
  jwksFetches++;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [entJwk] }));
});
await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;

const port = await freePort();
const closedPort = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
const idp = await startIdpFor(publicUrl);
const rec = await startRecorder();
const proxy = await startProxy({
  server: { port, publicUrl },
  oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  authorizationServer: {
    clients: [
      { clientId: AGENT.id, clientSecret: AGENT.secret, scopes: ['mcp'] },
      { clientId: OTHER.id, clientSecret: OTHER.secret, scopes: ['mcp'] },
      { clientId: POWER.id, clientSecret: POWER.secret, scopes: ['mcp', 'tickets:delete'] },
    ],
    enterpriseIdps: [
      { issuer: ENT, jwksUri },
      // The login's own IdP issuing ID-JAGs: its users are the login's users.
      { issuer: idp.issuer, jwks: { keys: [loginJwk] } },
      // An IdP whose JWKS URL answers nothing.
      { issuer: DOWN, jwksUri: `http://127.0.0.1:${closedPort}/jwks` },
    ],
  },
  backends: [
    { name: 'rec', http: { url: rec.url }, tools: [{ match: 'delete_*', scopes: ['tickets:delete'] }, { match: '*' }] },
    { name: 'alice-only', http: { url: rec.url }, allow: { subjects: ['alice'] } },
  ],
});
t.teardown(async () => {
  await proxy.close();
  await rec.close();
  await idp.close();
  jwksServer.close();
});

const RESOURCE = `${publicUrl}/mcp/rec`;
const now = () => Math.floor(Date.now() / 1000);

/** An ID-JAG as an enterprise IdP mints it; `claims` and `header` override the defaults. */
async function idJag(
  claims: JWTPayload = {},
  o: { header?: Record<string, unknown>; key?: Parameters<SignJWT['sign']>[0]; alg?: string; kid?: string } = {},
): Promise<string> {
  const alg = o.alg ?? 'RS256';
  return new SignJWT({
    iss: ENT,
    sub: 'alice',
    aud: publicUrl,
    client_id: AGENT.id,
    jti: randomUUID(),
    resource: RESOURCE,
    scope: 'mcp',
    email: 'alice@acme.example',
    groups: ['eng', 'oncall'],
    iat: now(),
    exp: now() + 300,
    ...claims,
  })
    .setProtectedHeader({ alg, kid: o.kid ?? 'ent-1', typ: 'oauth-id-jag+jwt', ...o.header })
    .sign(o.key ?? entKeys.privateKey);
}

const basic = (c: { id: string; secret: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;

async function token(
  assertion: string,
  o: { client?: { id: string; secret: string } | null; extra?: object; dpop?: string } = {},
) {
  const client = o.client === undefined ? AGENT : o.client;
  const res = await fetch(`${publicUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(client ? { authorization: basic(client) } : {}),
      ...(o.dpop ? { dpop: o.dpop } : {}),
    },
    body: new URLSearchParams({
      grant_type: JWT_BEARER,
      assertion,
      ...(o.client === null ? { client_id: AGENT.id } : {}),
      ...o.extra,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'agent', version: '1' } },
});

t.test('metadata names the jwt-bearer grant and the ID-JAG profile', async (t) => {
  const meta = (await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)).json()) as any;
  t.ok(meta.grant_types_supported.includes(JWT_BEARER), 'grant_types_supported');
  t.same(meta.authorization_grant_profiles_supported, ['urn:ietf:params:oauth:grant-profile:id-jag']);
});

t.test("a configured client trades an ID-JAG for a token and reaches the backend as the IdP's user", async (t) => {
  const got = await token(await idJag());
  t.equal(got.status, 200, JSON.stringify(got.body));
  t.equal(got.body.token_type, 'Bearer');
  t.equal(got.body.scope, 'mcp');
  t.notOk(got.body.refresh_token, 'no refresh token: a new token takes a new ID-JAG');
  t.ok(got.body.expires_in > 0 && got.body.expires_in <= 300, `never outlives the ID-JAG (${got.body.expires_in} s)`);
  t.match(got.headers.get('cache-control') ?? '', /no-store/);
  const claims = decodeJwt(got.body.access_token);
  t.equal(claims.aud, RESOURCE, "the audience is the ID-JAG's resource");
  t.equal(claims.client_id, AGENT.id);
  t.equal(claims.sub, `${ENT}#alice`, 'another IdP: its users are namespaced');
  t.equal(claims.idp, ENT);
  t.ok(claims.gid, 'a grant of its own (revocable)');

  const { status, seen } = await postRecorded(
    rec,
    RESOURCE,
    { authorization: `Bearer ${got.body.access_token}` },
    initialize,
  );
  t.equal(status, 200);
  t.equal(seen.length, 1);
  t.equal(seen[0]!.headers['x-forwarded-user'], 'alice', 'backends see the bare sub');
  t.equal(seen[0]!.headers['x-forwarded-email'], 'alice@acme.example');
  t.equal(seen[0]!.headers['x-forwarded-groups'], 'eng,oncall');
  t.notOk(seen[0]!.headers.authorization, 'the access token is not forwarded');
  const audit = proxy.logs().find((l) => l.audit && (l.principal as any)?.issuer === ENT) as any;
  t.equal(audit?.principal.id, `${ENT}#alice`, 'for policy and ownership it is <issuer>#<sub>');

  // Not the login's alice: a backend allowing the subject "alice" refuses it.
  const other = await token(await idJag({ resource: `${publicUrl}/mcp/alice-only` }));
  t.equal(other.status, 200);
  const refused = await postRecorded(
    rec,
    `${publicUrl}/mcp/alice-only`,
    { authorization: `Bearer ${other.body.access_token}` },
    initialize,
  );
  t.equal(refused.status, 403);
  t.equal(refused.seen.length, 0);
  t.ok(jwksFetches >= 1, 'keys came from the IdP JWKS URL');
});

t.test("a DPoP proof binds the ID-JAG's token to the client's key, as for the built-in grants", async (t) => {
  const key = await newDpopKey();
  const got = await token(await idJag(), { dpop: await dpopProof(key, 'POST', `${publicUrl}/token`) });
  t.equal(got.status, 200, JSON.stringify(got.body));
  t.equal(got.body.token_type, 'DPoP');
  const jkt = await calculateJwkThumbprint(key.jwk);
  t.same(decodeJwt(got.body.access_token).cnf, { jkt }, 'cnf.jkt names the proof key');
  const asBearer = await postRecorded(rec, RESOURCE, { authorization: `Bearer ${got.body.access_token}` }, initialize);
  t.equal(asBearer.status, 401, 'a bound token presented as Bearer is refused');
  t.equal(asBearer.seen.length, 0);
  const ath = createHash('sha256').update(got.body.access_token).digest('base64url');
  const withProof = await postRecorded(
    rec,
    RESOURCE,
    { authorization: `DPoP ${got.body.access_token}`, dpop: await dpopProof(key, 'POST', RESOURCE, { ath }) },
    initialize,
  );
  t.equal(withProof.status, 200, 'with its proof it reaches the backend');
  const replayed = await token(await idJag(), { dpop: 'not-a-proof' });
  t.equal(replayed.status, 400);
  t.equal(replayed.body.error, 'invalid_dpop_proof', 'a bad proof is refused at the token endpoint');
});

t.test("the login IdP's ID-JAGs stand for the login's own users", async (t) => {
  const jag = await idJag(
    { iss: idp.issuer, resource: `${publicUrl}/mcp/alice-only` },
    { key: loginKeys.privateKey, alg: 'ES256', kid: 'login-1' },
  );
  const got = await token(jag);
  t.equal(got.status, 200, JSON.stringify(got.body));
  const claims = decodeJwt(got.body.access_token);
  t.equal(claims.sub, 'alice');
  t.notOk(claims.idp);
  const res = await postRecorded(
    rec,
    `${publicUrl}/mcp/alice-only`,
    { authorization: `Bearer ${got.body.access_token}` },
    initialize,
  );
  t.equal(res.status, 200, 'allow.subjects: [alice] admits her');
  t.equal(res.seen[0]!.headers['x-forwarded-user'], 'alice');
});

t.test('scopes: requested ∩ ID-JAG ∩ client, never wider', async (t) => {
  const widened = await token(await idJag({ scope: 'mcp' }), { extra: { scope: 'mcp tickets:delete' } });
  t.equal(widened.status, 200);
  t.equal(widened.body.scope, 'mcp', 'a scope the ID-JAG does not grant is not given');
  t.equal(decodeJwt(widened.body.access_token).scope, 'mcp');
  const clientBound = await token(await idJag({ scope: 'mcp tickets:delete' }));
  t.equal(clientBound.body.scope, 'mcp', "nor one the client's configuration does not allow");
  const power = await token(await idJag({ scope: 'mcp tickets:delete', client_id: POWER.id }), { client: POWER });
  t.equal(power.body.scope, 'mcp tickets:delete', 'the ID-JAG scopes when none are requested');
  const narrowed = await token(await idJag({ scope: 'mcp tickets:delete', client_id: POWER.id }), {
    client: POWER,
    extra: { scope: 'mcp' },
  });
  t.equal(narrowed.body.scope, 'mcp', 'a narrower request is honoured');
  const none = await token(await idJag({ scope: 'mcp' }), { extra: { scope: 'tickets:delete' } });
  t.equal(none.status, 400);
  t.equal(none.body.error, 'invalid_scope');
  const noClaim = await token(await idJag({ scope: undefined }));
  t.equal(noClaim.body.scope, 'mcp', 'an ID-JAG without scope grants the base scope');
});

t.test('a replayed ID-JAG is refused', async (t) => {
  const jag = await idJag();
  t.equal((await token(jag)).status, 200);
  const again = await token(jag);
  t.equal(again.status, 400);
  t.equal(again.body.error, 'invalid_grant');
  t.match(again.body.error_description, /already used/);
});

t.test('every wrong ID-JAG is invalid_grant, with a description saying why', async (t) => {
  const cases: Array<[string, Promise<string>, RegExp]> = [
    ['wrong typ', idJag({}, { header: { typ: 'JWT' } }), /typ/],
    ['wrong aud', idJag({ aud: 'https://elsewhere.example' }), /aud/],
    ['unknown issuer', idJag({ iss: 'https://evil.example' }), /not a configured enterprise IdP/],
    ['wrong key', idJag({}, { key: rogueKeys.privateKey }), /signature/],
    ['expired', idJag({ iat: now() - 600, exp: now() - 300 }), /expired/],
    ['issued to another client', idJag({ client_id: OTHER.id }), /issued to client "other-agent"/],
    ['resource not ours', idJag({ resource: 'https://other.example/mcp' }), /not an MCP endpoint of this proxy/],
    ['no resource', idJag({ resource: undefined }), /names no resource/],
    ['no jti', idJag({ jti: undefined }), /jti/],
    ['issued in the future', idJag({ iat: now() + 600, exp: now() + 900 }), /future|iat/],
  ];
  for (const [name, jag, why] of cases) {
    const got = await token(await jag);
    t.equal(got.status, 400, name);
    t.equal(got.body.error, 'invalid_grant', name);
    t.match(got.body.error_description, why, name);
    t.notOk(got.body.access_token, name);
  }
});

t.test('only an authenticated, configured client may present an ID-JAG', async (t) => {
  const noSecret = await token(await idJag(), { client: null });
  t.equal(noSecret.status, 401);
  t.equal(noSecret.body.error, 'invalid_client');
  const wrongSecret = await token(await idJag(), { client: { id: AGENT.id, secret: 'not-the-secret-0123456789' } });
  t.equal(wrongSecret.status, 401);
  t.equal(wrongSecret.body.error, 'invalid_client');

  // A dynamically registered confidential client listing the grant is still refused.
  const reg = await fetch(`${publicUrl}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'sneaky',
      grant_types: [JWT_BEARER],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  const registered = (await reg.json()) as any;
  t.equal(reg.status, 201, 'registration itself is open');
  const dcr = { id: registered.client_id, secret: registered.client_secret };
  const got = await token(await idJag({ client_id: dcr.id }), { client: dcr });
  t.equal(got.status, 400);
  t.equal(got.body.error, 'unauthorized_client');
  t.match(got.body.error_description, /authorizationServer\.clients/);
  t.notOk(got.body.access_token);
});

t.test('a token for one MCP endpoint does not open another', async (t) => {
  const got = await token(await idJag());
  const res = await postRecorded(
    rec,
    `${publicUrl}/mcp/alice-only`,
    { authorization: `Bearer ${got.body.access_token}` },
    initialize,
  );
  t.equal(res.status, 401);
  t.equal(res.seen.length, 0);
});

t.test('an IdP whose keys cannot be fetched is 503 temporarily_unavailable, not invalid_grant', async (t) => {
  const got = await token(await idJag({ iss: DOWN }));
  t.equal(got.status, 503);
  t.equal(got.body.error, 'temporarily_unavailable');
  t.match(got.body.error_description, /down\.okta\.example/);
});

t.test('config: enterpriseIdps are checked when loaded', async (t) => {
  const problems = (idps: unknown[]) =>
    loadConfig({
      doc: {
        session: { keys: [Buffer.alloc(32, 1).toString('base64')] },
        server: { publicUrl: 'https://mcp.example.com' },
        oidc: { issuer: 'https://login.example.com', clientId: 'c', clientSecret: 's' },
        authorizationServer: { enterpriseIdps: idps },
        backends: [{ name: 'b', http: { url: 'http://127.0.0.1:1/mcp' } }],
      },
      env: {},
    }).problems.join('\n');
  t.equal(problems([{ issuer: ENT, jwksUri: 'https://acme.okta.example/keys' }]), '');
  t.equal(problems([{ issuer: ENT, jwksUri: 'http://127.0.0.1:9/keys' }]), '', 'loopback http: the operator may');
  t.match(problems([{ issuer: ENT, jwksUri: 'http://keys.example.com/keys' }]), /https/);
  t.match(problems([{ issuer: ENT }]), /exactly one of jwksUri or jwks/);
  t.match(problems([{ issuer: ENT, jwksUri: 'https://a.example/k', jwks: { keys: [entJwk] } }]), /exactly one/);
  t.match(problems([{ issuer: ENT, jwks: { keys: [{ ...entJwk, d: 'secret' }] } }]), /public keys only/);
  t.match(
    problems([
      { issuer: ENT, jwksUri: 'https://a.example/k' },
      { issuer: ENT, jwksUri: 'https://b.example/k' },
    ]),
    /twice/,
  );
});
