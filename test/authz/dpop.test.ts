/**
 * DPoP (RFC 9449) and RFC 9207 end to end, with a hand-made client (the MCP SDK 1.32 client has no DPoP):
 * proofs made with jose, tokens from the proxy's own authorization server. Three proxies share one
 * public URL, one signing key and a real Redis: R1 and R2 (`dpop: allowed`, replicas), R3 (`dpop: required`
 * with `dpopNonce`), R4 (`dpop: off`), so a token or a proof used on one is the same token or proof on the others.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startRedis } from '../helpers/db-servers.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { authorizeUrl, getCode, pkce, register } from '../helpers/oauth-manual.js';
import { INITIALIZE, MCP_ACCEPT } from '../helpers/session-client.js';
import { CLIENT_ID, CLIENT_SECRET, signingKeyFile, startIdpFor } from '../helpers/stack.js';
import { dpopProof, newDpopKey, type DpopKey } from '../helpers/dpop.js';

const redis = await startRedis();
t.teardown(() => redis.close());
const keyFile = await signingKeyFile();
const [port1, port2, port3, port4] = [await freePort(), await freePort(), await freePort(), await freePort()];
const publicUrl = `http://127.0.0.1:${port1}`;
const idp = await startIdpFor(publicUrl);
t.teardown(() => idp.close());
const backend = await startDemoHttpServer({ jwksUrl: `${publicUrl}/.well-known/jwks.json`, issuer: publicUrl });
t.teardown(() => backend.close());
const doc = (port: number, as: Record<string, unknown> = {}) => ({
  server: { port, publicUrl },
  oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  store: { kind: 'redis', url: redis.url },
  signing: { keyFile },
  authorizationServer: as,
  backends: [{ name: 'demo', http: { url: backend.url } }],
});
const r1 = await startProxy(doc(port1));
const r2 = await startProxy(doc(port2));
const r3 = await startProxy(doc(port3, { dpop: 'required', dpopNonce: true }));
const r4 = await startProxy(doc(port4, { dpop: 'off' }));
t.teardown(() => Promise.all([r1.close(), r2.close(), r3.close(), r4.close()]));
const at = (port: number) => `http://127.0.0.1:${port}`;
const REDIRECT = 'http://127.0.0.1:33418/callback';
const resource = `${publicUrl}/mcp/demo`;

type Key = DpopKey;
const newKey = newDpopKey;
const proof = dpopProof;
const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A code for a new public client (authorized by alice through R1), ready for the token request. */
async function code() {
  const { meta, client } = await register(publicUrl, REDIRECT);
  const { verifier, challenge } = pkce();
  const params = { client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, resource };
  const got = await getCode(authorizeUrl(meta, params), REDIRECT);
  if (!got.code) throw new Error(`authorization refused: ${got.error}`);
  const form = {
    grant_type: 'authorization_code',
    code: got.code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    resource,
  };
  return { form, finalUrl: got.result.finalUrl };
}

/** POST the token request to `origin` (the public token URL is what a proof names), with a proof when given. */
async function tokenRequest(origin: string, form: Record<string, string>, dpop?: string) {
  const res = await fetch(`${origin}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop ? { dpop } : {}) },
    body: new URLSearchParams(form),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
}

function mcpPost(origin: string, headers: Record<string, string>, path = '/mcp/demo') {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body: INITIALIZE,
  });
}

/** The `DPoP` request headers for `token` on `method path` (public URL), with proof claims overridden by `claims`. */
async function dpopHeaders(key: Key, token: string, method: string, path: string, claims = {}) {
  return {
    authorization: `DPoP ${token}`,
    dpop: await proof(key, method, `${publicUrl}${path}`, { ath: ath(token), ...claims }),
  };
}

const alice = await newKey();
const issued = await code();
const bound = await tokenRequest(at(port1), issued.form, await proof(alice, 'POST', `${publicUrl}/token`));
const boundToken = bound.body.access_token!;
const unbound = (await tokenRequest(at(port1), (await code()).form)).body.access_token!;

t.test('metadata: DPoP algorithms and the RFC 9207 iss parameter', async (t) => {
  const meta = (await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    unknown
  >;
  t.ok((meta.dpop_signing_alg_values_supported as string[]).includes('ES256'));
  t.equal(meta.authorization_response_iss_parameter_supported, true);
});

t.test('authorization responses carry iss (RFC 9207): on success and on error', async (t) => {
  t.equal(new URL(issued.finalUrl).searchParams.get('iss'), publicUrl, 'the code comes with iss');
  const { meta, client } = await register(publicUrl, REDIRECT);
  const url = authorizeUrl(meta, {
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    resource,
    prompt: 'none',
  });
  const res = await fetch(url, { redirect: 'manual' });
  const back = new URL(res.headers.get('location')!);
  t.equal(`${back.origin}${back.pathname}`, REDIRECT);
  t.equal(back.searchParams.get('error'), 'login_required', 'an error response (no session, prompt=none)');
  t.equal(back.searchParams.get('iss'), publicUrl, 'it carries iss too');
});

t.test('a proof at the token endpoint binds the token to the key (cnf.jkt); none, no binding', async (t) => {
  t.equal(bound.status, 200);
  t.equal(bound.body.token_type, 'DPoP');
  t.type((decodeJwt(boundToken).cnf as { jkt?: string })?.jkt, 'string');
  t.equal(decodeJwt(unbound).cnf, undefined);
});

t.test('bound token + proof: an MCP POST and a REST call reach the backend, without the DPoP header', async (t) => {
  const before = backend.seen.length;
  const res = await mcpPost(at(port1), await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo'));
  t.equal(res.status, 200, await res.text());
  const api = await fetch(`${at(port1)}/api/backends/demo/tools`, {
    headers: await dpopHeaders(alice, boundToken, 'GET', '/api/backends/demo/tools'),
  });
  t.equal(api.status, 200);
  t.ok(((await api.json()) as { tools: unknown[] }).tools.length > 0, 'the tools of the backend');
  const seen = backend.seen.slice(before);
  t.ok(seen.length >= 2, 'the backend saw both');
  for (const s of seen) {
    const h = s.headers as Record<string, string | undefined>;
    t.equal(h.dpop, undefined, 'no DPoP proof forwarded');
    t.notOk(h.authorization?.includes(boundToken), "the client's token not forwarded");
    t.equal(h['x-mcp-proxy-dpop-relay'], undefined);
  }
});

/** The refusal's status, its challenge and the error it names. */
async function refused(res: Response) {
  await res.body?.cancel();
  const challenge = res.headers.get('www-authenticate') ?? '';
  return { status: res.status, challenge, error: /error="([^"]+)"/.exec(challenge)?.[1] };
}

t.test('refused: every way a bound token or its proof can be wrong', async (t) => {
  const other = await newKey();
  const cases: Array<[string, Record<string, string>, string]> = [
    ['bound token as Bearer', { authorization: `Bearer ${boundToken}` }, 'invalid_token'],
    ['DPoP scheme without a proof', { authorization: `DPoP ${boundToken}` }, 'invalid_dpop_proof'],
    [
      'proof for another URL (htu)',
      await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo', { htu: `${publicUrl}/mcp/other` }),
      'invalid_dpop_proof',
    ],
    [
      'proof for the listener, not the public URL (htu)',
      await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo', { htu: `${at(port2)}/mcp/demo` }),
      'invalid_dpop_proof',
    ],
    ['proof for another method (htm)', await dpopHeaders(alice, boundToken, 'GET', '/mcp/demo'), 'invalid_dpop_proof'],
    [
      'wrong ath',
      await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo', { ath: ath(unbound) }),
      'invalid_dpop_proof',
    ],
    ['no ath', await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo', { ath: undefined }), 'invalid_dpop_proof'],
    ['proof signed by another key (jkt)', await dpopHeaders(other, boundToken, 'POST', '/mcp/demo'), 'invalid_token'],
    [
      'stale iat',
      await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo', { iat: Math.floor(Date.now() / 1000) - 600 }),
      'invalid_dpop_proof',
    ],
    [
      'iat in the future',
      await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo', { iat: Math.floor(Date.now() / 1000) + 600 }),
      'invalid_dpop_proof',
    ],
    ['unbound token under the DPoP scheme', await dpopHeaders(alice, unbound, 'POST', '/mcp/demo'), 'invalid_token'],
  ];
  const before = backend.seen.length;
  for (const [label, headers, error] of cases) {
    const r = await refused(await mcpPost(at(port1), headers));
    t.equal(r.status, 401, label);
    t.equal(r.error, error, `${label}: ${error}`);
    t.match(r.challenge, /^DPoP algs="[^"]*ES256/, `${label}: a DPoP challenge`);
  }
  const api = await refused(
    await fetch(`${at(port1)}/api/backends/demo/tools`, { headers: { authorization: `Bearer ${boundToken}` } }),
  );
  t.equal(api.status, 401, 'a bound token as Bearer on the REST API too');
  t.equal(backend.seen.length, before, 'none reached the backend');
});

t.test('a proof is used once: replayed on the same replica or another, it is refused', async (t) => {
  const headers = await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo');
  const first = await mcpPost(at(port1), headers);
  t.equal(first.status, 200);
  await first.body?.cancel();
  for (const port of [port1, port2]) {
    const again = await refused(await mcpPost(at(port), headers));
    t.equal(again.status, 401, `replayed on ${port === port1 ? 'R1' : 'R2'}`);
    t.equal(again.error, 'invalid_dpop_proof');
  }
  const fresh = await mcpPost(at(port2), await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo'));
  t.equal(fresh.status, 200, 'a fresh proof on R2 is fine');
  await fresh.body?.cancel();
});

t.test('allowed: an unbound token as Bearer works; anonymous requests are offered Bearer and DPoP', async (t) => {
  const ok = await mcpPost(at(port1), { authorization: `Bearer ${unbound}` });
  t.equal(ok.status, 200);
  await ok.body?.cancel();
  const anon = await refused(await mcpPost(at(port1), {}));
  t.equal(anon.status, 401);
  t.match(anon.challenge, /^Bearer resource_metadata="[^"]+", scope="mcp", DPoP algs="[^"]*ES256[^"]*"$/);
});

t.test('required: no token without a proof; no unbound token at the resource; nonces asked for', async (t) => {
  const issued3 = await code();
  const noProof = await tokenRequest(at(port3), issued3.form);
  t.equal(noProof.status, 400, 'the token endpoint refuses a request without a proof');
  t.equal(noProof.body.error, 'invalid_dpop_proof');
  const bob = await newKey();
  const askNonce = await tokenRequest(at(port3), issued3.form, await proof(bob, 'POST', `${publicUrl}/token`));
  t.equal(askNonce.status, 400);
  t.equal(askNonce.body.error, 'use_dpop_nonce', 'the AS asks for its nonce');
  const asNonce = askNonce.headers.get('dpop-nonce');
  t.ok(asNonce);
  const tok = await tokenRequest(
    at(port3),
    issued3.form,
    await proof(bob, 'POST', `${publicUrl}/token`, { nonce: asNonce }),
  );
  t.equal(tok.status, 200, 'with the nonce, a bound token');
  t.equal(tok.body.token_type, 'DPoP');
  const token = tok.body.access_token!;

  const unboundThere = await refused(await mcpPost(at(port3), { authorization: `Bearer ${unbound}` }));
  t.equal(unboundThere.status, 401, 'an unbound token is refused');
  t.equal(unboundThere.error, 'invalid_token');
  t.match(unboundThere.challenge, /^DPoP /);

  const first = await mcpPost(at(port3), await dpopHeaders(bob, token, 'POST', '/mcp/demo'));
  await first.body?.cancel();
  t.equal(first.status, 401, 'a proof without the resource nonce');
  t.match(first.headers.get('www-authenticate') ?? '', /error="use_dpop_nonce"/);
  const nonce = first.headers.get('dpop-nonce');
  t.ok(nonce, 'the nonce comes with the refusal');
  const bad = await mcpPost(at(port3), await dpopHeaders(bob, token, 'POST', '/mcp/demo', { nonce: 'made-up' }));
  await bad.body?.cancel();
  t.equal(bad.status, 401, 'a nonce not ours is refused');
  const ok = await mcpPost(at(port3), await dpopHeaders(bob, token, 'POST', '/mcp/demo', { nonce }));
  t.equal(ok.status, 200, 'with the nonce the request goes through');
  t.ok(ok.headers.get('dpop-nonce'), 'and the answer carries the next nonce');
  await ok.body?.cancel();

  const anon = await refused(await mcpPost(at(port3), {}));
  t.match(anon.challenge, /^DPoP algs="[^"]+", resource_metadata="/, 'anonymous: a DPoP challenge only');
});

t.test('off: no binding at the token endpoint, the DPoP scheme and bound tokens refused', async (t) => {
  const meta = (await (await fetch(`${at(port4)}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    unknown
  >;
  t.equal(meta.dpop_signing_alg_values_supported, undefined, 'no DPoP algorithms advertised');
  const carol = await newKey();
  const tok = await tokenRequest(at(port4), (await code()).form, await proof(carol, 'POST', `${publicUrl}/token`));
  t.equal(tok.status, 200);
  t.equal(tok.body.token_type, 'Bearer', 'the proof is ignored');
  t.equal(decodeJwt(tok.body.access_token!).cnf, undefined);
  const scheme = await refused(await mcpPost(at(port4), await dpopHeaders(alice, boundToken, 'POST', '/mcp/demo')));
  t.equal(scheme.status, 401, 'the DPoP scheme is not accepted');
  t.match(scheme.challenge, /^Bearer /, 'a Bearer challenge only');
  const asBearer = await refused(await mcpPost(at(port4), { authorization: `Bearer ${boundToken}` }));
  t.equal(asBearer.status, 401, 'a bound token is refused without its proof');
  const plain = await mcpPost(at(port4), { authorization: `Bearer ${tok.body.access_token}` });
  t.equal(plain.status, 200, 'an unbound token works');
  await plain.body?.cancel();
  const anon = await refused(await mcpPost(at(port4), {}));
  t.notMatch(anon.challenge, /DPoP/, 'anonymous: no DPoP offered');
});
