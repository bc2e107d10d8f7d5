/**
 * RFC 7662 introspection against a real oidc-provider (the dev IdP): live, revoked and
 * garbage tokens, endpoint down, caching. A small stub endpoint covers claim mapping and
 * the exp bound of the cache.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { IntrospectionVerifier, proxyAudiences } from '../../src/tokens/introspection.js';
import { Errors } from '../../src/errors.js';
import { freePort } from '../helpers/ports.js';
import { CLIENT_ID, CLIENT_SECRET, discover, rpClient, rpLogin } from '../devidp/rp.js';

type Failure = Error & { reason?: string; statusCode?: number };
async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    return e as Failure;
  }
  throw new Error('expected a failure');
}

/** fetch that counts the requests it makes. */
function countingFetch() {
  const f = Object.assign(
    async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      f.calls += 1;
      return fetch(input, init);
    },
    { calls: 0 },
  );
  return f;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('against the dev IdP (oidc-provider)', async (t) => {
  const idp = await startStandaloneIdp({ clients: [rpClient], consent: false });
  t.teardown(() => idp.close());
  const config = await discover(idp.issuer);
  const endpoint = config.serverMetadata().introspection_endpoint!;
  t.ok(endpoint, 'introspection advertised');
  const cfg = { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
  const bob = { username: 'bob', password: 'bob' };

  t.test(
    'a live token the IdP minted for its own client (no audience of ours): active is not enough, refused and ' +
      'remembered briefly',
    async (t) => {
      const { tokens } = await rpLogin(config, bob);
      const counting = countingFetch();
      const v = new IntrospectionVerifier(cfg, { fetch: counting, defaultAudience: () => ['http://127.0.0.1:1/mcp'] });
      const err = await failure(v.verify(tokens!.access_token));
      t.ok(err instanceof Errors.INVALID_TOKEN);
      t.equal(err.statusCode, 401);
      t.equal(err.reason, 'audience_mismatch');
      const again = await failure(v.verify(tokens!.access_token));
      t.equal(again.reason, 'inactive(cached)');
      t.equal(counting.calls, 1, 'no second request to the IdP');
    },
  );

  t.test('revoked and garbage tokens are INVALID_TOKEN', async (t) => {
    const { tokens } = await rpLogin(config, bob);
    await oidc.tokenRevocation(config, tokens!.access_token);
    const counting = countingFetch();
    const v = new IntrospectionVerifier(cfg, { fetch: counting });
    const revoked = await failure(v.verify(tokens!.access_token));
    t.ok(revoked instanceof Errors.INVALID_TOKEN, 'revoked');
    t.equal(revoked.statusCode, 401);
    t.equal(revoked.reason, 'inactive');
    const again = await failure(v.verify(tokens!.access_token));
    t.ok(again instanceof Errors.INVALID_TOKEN);
    t.equal(counting.calls, 1, 'an inactive answer is cached briefly');

    // A JWT it did not issue as an access token: oidc-provider answers 400 invalid_request.
    const jwt = await failure(v.verify(tokens!.id_token!));
    t.ok(jwt instanceof Errors.INVALID_TOKEN, `a JWT is refused as a bad token, not a 502 (${jwt.reason})`);

    const garbage = await failure(v.verify('not-a-token-at-all'));
    t.ok(garbage instanceof Errors.INVALID_TOKEN, 'garbage');
    t.ok((await failure(v.verify(''))) instanceof Errors.INVALID_TOKEN, 'empty');
  });

  t.test('an inactive answer is cached for a few seconds only', async (t) => {
    const counting = countingFetch();
    const v = new IntrospectionVerifier(cfg, { fetch: counting, inactiveTtlMs: 50 });
    await failure(v.verify('garbage-1'));
    await sleep(80);
    await failure(v.verify('garbage-1'));
    t.equal(counting.calls, 2);
  });

  t.test('wrong client credentials: the IdP refuses us, not the token (502)', async (t) => {
    const { tokens } = await rpLogin(config, bob);
    const v = new IntrospectionVerifier({ ...cfg, clientSecret: 'wrong-secret' });
    const err = await failure(v.verify(tokens!.access_token));
    t.ok(err instanceof Errors.IDP_UNAVAILABLE, String(err));
    t.equal(err.statusCode, 502);
    t.match(err.reason, /HTTP 401/);
  });
});

t.test('endpoint down → IDP_UNAVAILABLE', async (t) => {
  const port = await freePort();
  const counting = countingFetch();
  const v = new IntrospectionVerifier(
    { endpoint: `http://127.0.0.1:${port}/introspect`, clientId: 'c', clientSecret: 's' },
    { fetch: counting },
  );
  for (let i = 0; i < 10; i += 1) {
    const err = await failure(v.verify(`some-token-${i}`));
    t.ok(err instanceof Errors.IDP_UNAVAILABLE, String(err));
    t.equal(err.statusCode, 502);
    t.equal(err.message, 'the identity provider is unavailable');
  }
  t.equal(counting.calls, 1, 'a failing endpoint is remembered (backoff): 10 requests, one fetch');
});

t.test('claim mapping and cache lifetime (stub endpoint)', async (t) => {
  let answer: Record<string, unknown> = {};
  let seen: { auth?: string; body?: string; type?: string } = {};
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen = { auth: req.headers.authorization, body, type: req.headers['content-type'] };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
  const now = () => Math.floor(Date.now() / 1000);
  // Every active answer below names this audience, the one the verifiers are configured with.
  const AUD = 'https://proxy.example/mcp/tickets';
  const stubCfg = (over: Record<string, unknown> = {}) => ({
    endpoint,
    clientId: 'c',
    clientSecret: 's',
    audience: [AUD],
    ...over,
  });

  t.test('request shape and principal', async (t) => {
    answer = {
      active: true,
      username: 'carol',
      email: 'carol@example.com',
      groups: ['ops', 'dev'],
      scope: 'mcp read',
      exp: now() + 600,
      token_type: 'Bearer',
      aud: AUD,
    };
    const v = new IntrospectionVerifier(stubCfg({ clientId: 'my client', clientSecret: 's:e/c' }));
    const p = await v.verify('tok-1');
    t.same(p, {
      sub: 'carol',
      email: 'carol@example.com',
      name: 'carol',
      groups: ['ops', 'dev'],
      scopes: ['mcp', 'read'],
      source: 'external',
      issuer: new URL(endpoint).origin,
      expiresAt: (answer.exp as number) * 1000,
    });
    t.equal(seen.type, 'application/x-www-form-urlencoded');
    t.same(Object.fromEntries(new URLSearchParams(seen.body)), { token: 'tok-1', token_type_hint: 'access_token' });
    t.equal(
      Buffer.from(seen.auth!.replace(/^Basic /, ''), 'base64').toString(),
      'my+client:s%3Ae%2Fc',
      'client_secret_basic, form-encoded',
    );
  });

  t.test("issuer, when configured, must equal the answer's iss", async (t) => {
    const v = new IntrospectionVerifier(stubCfg({ issuer: 'https://idp.example' }), { inactiveTtlMs: 0 });
    for (const iss of [undefined, 'https://evil.example', 'https://idp.example/']) {
      answer = { active: true, sub: 'x', aud: AUD, ...(iss ? { iss } : {}) };
      t.equal((await failure(v.verify(`tok-iss-${iss}`))).reason, 'issuer_mismatch', `iss ${iss}`);
    }
    answer = { active: true, sub: 'x', aud: AUD, iss: 'https://idp.example' };
    t.equal((await v.verify('tok-iss-ok')).sub, 'x');
  });

  t.test("without configured audiences the proxy's own resources are the default", async (t) => {
    const resources = new Map([['https://proxy.example/mcp/tickets', []]]);
    const v = new IntrospectionVerifier(
      { endpoint, clientId: 'c', clientSecret: 's' },
      { inactiveTtlMs: 0, activeTtlMs: 0, defaultAudience: () => proxyAudiences('https://proxy.example', resources) },
    );
    for (const aud of ['https://proxy.example', 'https://proxy.example/mcp', AUD]) {
      answer = { active: true, sub: 'x', aud };
      t.equal((await v.verify(`tok-default-${aud}`)).sub, 'x', `${aud} accepted`);
    }
    answer = { active: true, sub: 'x', aud: 'https://proxy.example/mcp/added' };
    t.equal((await failure(v.verify('tok-added-1'))).reason, 'audience_mismatch');
    resources.set('https://proxy.example/mcp/added', []);
    t.equal((await v.verify('tok-added-2')).sub, 'x', 'a backend added by a reload is an audience at once');
  });

  t.test('never cached beyond the token lifetime', async (t) => {
    answer = { active: true, sub: 'dave', exp: now() + 2, aud: AUD };
    const counting = countingFetch();
    const v = new IntrospectionVerifier(stubCfg(), { fetch: counting });
    await v.verify('tok-short');
    await v.verify('tok-short');
    t.equal(counting.calls, 1, 'cached while valid');
    await sleep(Math.max(0, (answer.exp as number) * 1000 - Date.now() + 20));
    const err = await failure(v.verify('tok-short'));
    t.ok(err instanceof Errors.INVALID_TOKEN, 'expired: asked again, and exp refused even though active');
    t.equal(counting.calls, 2);
  });

  t.test('active answers we cannot use as a bearer token', async (t) => {
    const v = new IntrospectionVerifier(stubCfg(), { inactiveTtlMs: 0 });
    for (const [what, a, reason] of [
      ['no subject', { active: true, scope: 'x', aud: AUD }, 'unusable_active_response'],
      [
        'sender-constrained (DPoP)',
        { active: true, sub: 'x', cnf: { jkt: 'abc' }, token_type: 'DPoP', aud: AUD },
        'unusable_active_response',
      ],
      [
        'a refresh token',
        { active: true, sub: 'x', token_type: 'refresh_token', aud: AUD },
        'unusable_active_response',
      ],
      ['a Keycloak refresh token', { active: true, sub: 'x', typ: 'Refresh', aud: AUD }, 'unusable_active_response'],
      ['active as a string', { active: 'true', sub: 'x', aud: AUD }, 'inactive'],
      [
        "another API's token",
        { active: true, sub: 'x', aud: 'https://other-api.example/', client_id: 'some-other-app' },
        'audience_mismatch',
      ],
      [
        "another API's token, aud as a list",
        { active: true, sub: 'x', aud: ['https://other-api.example/', 'https://proxy.example/mcp/tickets/'] },
        'audience_mismatch',
      ],
      ['no aud at all', { active: true, sub: 'x' }, 'audience_mismatch'],
      ['aud of the wrong type', { active: true, sub: 'x', aud: { AUD } }, 'audience_mismatch'],
    ] as const) {
      answer = a;
      const err = await failure(v.verify(`tok-${what}`));
      t.ok(err instanceof Errors.INVALID_TOKEN, what);
      t.equal(err.reason, reason, `${what}: ${reason}`);
    }
    answer = { active: true, sub: 'x', aud: ['https://other-api.example/', AUD] };
    t.equal(
      (await v.verify('tok-ok')).sub,
      'x',
      'one of several audiences is ours; no exp: accepted, cached 60 s at most',
    );
  });
});
