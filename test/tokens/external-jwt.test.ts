/**
 * External JWTs against a real JWKS + discovery server on 127.0.0.1: audience, issuer,
 * time, algorithm attacks, key rotation, caching.
 */
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, createPublicKey, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { ExternalJwtVerifier, unverifiedIssuer } from '../../src/tokens/external-jwt.js';
import { Errors } from '../../src/errors.js';
import { freePort } from '../helpers/ports.js';

type Key = { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; publicJwk: JWK };

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/**
 * A tiny IdP: discovery + JWKS, counting requests; `keys` can be swapped (rotation); `down` answers 503 to everything.
 */
async function startIdp() {
  const state = { keys: [] as Key[], jwksHits: 0, discoveryHits: 0, requests: 0, down: false, issuer: '' };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url!, state.issuer).pathname;
    res.setHeader('content-type', 'application/json');
    state.requests += 1;
    if (state.down) {
      res.statusCode = 503;
      res.end('{}');
    } else if (path === '/oauth2/ext/.well-known/openid-configuration') {
      state.discoveryHits += 1;
      res.end(JSON.stringify({ issuer: state.issuer, jwks_uri: `${state.issuer}/v1/keys` }));
    } else if (path === '/oauth2/ext/v1/keys') {
      state.jwksHits += 1;
      res.end(JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/ext`;
  return {
    state,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const now = () => Math.floor(Date.now() / 1000);

function sign(key: Key, claims: JWTPayload, header: Record<string, unknown> = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey);
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

async function failure(p: Promise<unknown>): Promise<Error & { reason?: string; statusCode?: number }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { reason?: string };
  }
  throw new Error('expected a failure');
}

t.test('external JWTs', async (t) => {
  const idp = await startIdp();
  t.teardown(idp.close);
  const k1 = await newKey('k1');
  idp.state.keys = [k1];
  const iss = idp.state.issuer;
  const base = () => ({ iss, sub: 'u-1', aud: ['http://a', 'http://b'], exp: now() + 300, iat: now() });
  const verifier = new ExternalJwtVerifier(
    [{ issuer: iss, audience: ['http://b', 'http://c'], groupsClaim: 'groups' }],
    { jwksCooldownMs: 0 },
  );

  const expectInvalid = async (t: Test, token: string | Promise<string>, reason: RegExp, what: string) => {
    const err = await failure(verifier.verify(await token));
    t.ok(err instanceof Errors.INVALID_TOKEN, `${what}: INVALID_TOKEN`);
    t.equal(err.statusCode, 401);
    t.equal(err.message, 'the access token is invalid or expired', `${what}: no library detail in the message`);
    t.match(err.reason, reason, `${what}: reason ${err.reason}`);
    t.notOk(Object.keys(err).includes('reason'), 'reason is not enumerable (not serialized)');
  };

  t.test('a multi-audience token for one of our audiences → principal', async (t) => {
    t.ok(verifier.handles(iss));
    t.notOk(verifier.handles(`${iss}/`), 'issuer match is exact');
    const claims = {
      ...base(),
      email: 'u1@example.com',
      preferred_username: 'u1',
      groups: ['admin', 'support'],
      scope: 'read write',
    };
    const token = await sign(k1, claims);
    t.equal(unverifiedIssuer(token), iss);
    const p = await verifier.verify(token);
    t.same(p, {
      sub: 'u-1',
      email: 'u1@example.com',
      name: 'u1',
      groups: ['admin', 'support'],
      scopes: ['read', 'write'],
      source: 'external',
      issuer: iss,
      expiresAt: claims.exp * 1000,
    });
    t.equal(idp.state.discoveryHits, 1, 'discovered once');
    t.equal(idp.state.jwksHits, 1, 'JWKS fetched once');

    const jwksBefore = idp.state.jwksHits;
    const again = await verifier.verify(token);
    t.equal(again, p, 'second call answered from the cache');
    t.equal(idp.state.jwksHits, jwksBefore, 'cache hit does not reach the JWKS server');

    // scp array (Okta) and a groups claim given as a comma string, under another claim name.
    const other = new ExternalJwtVerifier([{ issuer: iss, audience: ['http://a'], groupsClaim: 'roles' }]);
    const p2 = await other.verify(
      await sign(k1, { ...base(), name: 'User One', roles: 'ops, dev', scp: ['mcp', 'read'] }),
    );
    t.same([p2.name, p2.groups, p2.scopes], ['User One', ['ops', 'dev'], ['mcp', 'read']]);
  });

  t.test('refused tokens', async (t) => {
    await expectInvalid(t, sign(k1, { ...base(), aud: ['http://a', 'http://x'] }), /aud/, 'wrong audience');
    await expectInvalid(t, sign(k1, { ...base(), aud: undefined }), /aud/, 'no audience');
    await expectInvalid(t, sign(k1, { ...base(), iss: 'http://127.0.0.1:1/evil' }), /unknown_issuer/, 'wrong issuer');
    await expectInvalid(t, sign(k1, { ...base(), exp: now() - 120 }), /ERR_JWT_EXPIRED/, 'expired');
    await expectInvalid(t, sign(k1, { ...base(), nbf: now() + 300 }), /nbf/, 'nbf in the future');
    await expectInvalid(t, sign(k1, { ...base(), exp: undefined }), /exp/, 'no exp');
    await expectInvalid(t, sign(k1, { ...base(), sub: undefined }), /sub/, 'no sub');
    await expectInvalid(t, 'not-a-jwt', /unknown_issuer/, 'garbage');

    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(base())}.`;
    await expectInvalid(t, none, /ALG_NOT_ALLOWED|JWS_INVALID/, 'alg=none');

    // The classic confusion: HS256 with the RSA public key (PEM bytes) as the HMAC secret.
    const pem = (createPublicKey({ key: k1.publicJwk as never, format: 'jwk' }) as KeyObject).export({
      type: 'spki',
      format: 'pem',
    });
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64(base())}`;
    const hs = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    await expectInvalid(t, hs, /ALG_NOT_ALLOWED/, 'HS256 signed with the public key');

    const forged = await newKey('k1'); // same kid, another key
    await expectInvalid(t, sign(forged, base()), /SIGNATURE_VERIFICATION_FAILED/, 'same kid, other key');

    // Signature is fine but the token was tampered with afterwards.
    const good = await sign(k1, base());
    const [h, , s] = good.split('.');
    await expectInvalid(
      t,
      `${h}.${b64({ ...base(), sub: 'admin' })}.${s}`,
      /SIGNATURE_VERIFICATION_FAILED/,
      'tampered payload',
    );

    const noAud = new ExternalJwtVerifier([{ issuer: iss, audience: [], groupsClaim: 'groups' }]);
    const err = await failure(noAud.verify(await sign(k1, base())));
    t.ok(err instanceof Errors.INVALID_TOKEN);
    t.equal(err.reason, 'no_audience_configured', 'no configured audience: every token refused');
  });

  t.test('unknown kid, then key rotation', async (t) => {
    const k2 = await newKey('k2');
    const hits = idp.state.jwksHits;
    await expectInvalid(t, sign(k2, base()), /NO_MATCHING_KEY/, 'kid not (yet) published');
    t.equal(idp.state.jwksHits, hits + 1, 'an unknown kid triggers a refetch');

    idp.state.keys = [k1, k2]; // the IdP rotates: the new key is published
    const p = await verifier.verify(await sign(k2, { ...base(), sub: 'rotated' }));
    t.equal(p.sub, 'rotated', 'new kid verifies after refetch');
    t.equal(idp.state.jwksHits, hits + 2);

    idp.state.keys = [k2]; // old key retired; new tokens with k2 keep working
    t.equal((await verifier.verify(await sign(k2, { ...base(), sub: 'rotated-2' }))).sub, 'rotated-2');
  });

  t.test('jose default cooldown: unknown kids do not refetch in a loop', async (t) => {
    const v = new ExternalJwtVerifier([{ issuer: iss, audience: ['http://b'], groupsClaim: 'groups' }]);
    idp.state.keys = [k1];
    await v.verify(await sign(k1, base()));
    const hits = idp.state.jwksHits;
    for (let i = 0; i < 3; i += 1) await failure(v.verify(await sign(await newKey(`rnd-${i}`), base())));
    t.equal(idp.state.jwksHits, hits, 'no JWKS request within the cooldown');
  });

  t.test('an unreachable issuer is IDP_UNAVAILABLE, not a bad token', async (t) => {
    const port = await freePort();
    const down = new ExternalJwtVerifier([
      { issuer: iss, audience: ['http://b'], jwksUri: `http://127.0.0.1:${port}/keys`, groupsClaim: 'groups' },
    ]);
    const err = await failure(down.verify(await sign(k1, base())));
    t.ok(err instanceof Errors.IDP_UNAVAILABLE, String(err));
    t.equal(err.statusCode, 502);
    t.match(err.reason, /jwks/);

    const noDiscovery = new ExternalJwtVerifier([
      { issuer: `http://127.0.0.1:${port}/x`, audience: ['http://b'], groupsClaim: 'groups' },
    ]);
    const err2 = await failure(noDiscovery.verify(await sign(k1, { ...base(), iss: `http://127.0.0.1:${port}/x` })));
    t.ok(err2 instanceof Errors.IDP_UNAVAILABLE);
    t.match(err2.reason, /discovery/);
  });

  t.test('a failing issuer is not asked again on every request: its failure is remembered, with backoff', async (t) => {
    idp.state.down = true;
    const v = new ExternalJwtVerifier([{ issuer: iss, audience: ['http://b'], groupsClaim: 'groups' }], {
      failureBackoffMs: 300,
    });
    const token = await sign(k1, base());
    const before = idp.state.requests;
    for (let i = 0; i < 10; i += 1) {
      const err = await failure(v.verify(token));
      t.ok(err instanceof Errors.IDP_UNAVAILABLE, `request ${i + 1}: IDP_UNAVAILABLE as before`);
    }
    t.equal(
      idp.state.requests - before,
      2,
      '10 requests: one discovery attempt (its two metadata URLs), not 20 fetches',
    );
    idp.state.down = false;
    t.ok(
      (await failure(v.verify(token))) instanceof Errors.IDP_UNAVAILABLE,
      'still remembered right after the issuer recovered',
    );
    t.equal(idp.state.requests - before, 2);
    await new Promise((r) => setTimeout(r, 350));
    t.equal((await v.verify(token)).sub, 'u-1', 'after the backoff the issuer is asked again, and it works');
  });

  t.test('configuration checks', async (t) => {
    t.throws(
      () => new ExternalJwtVerifier([{ issuer: 'http://idp.example.com', audience: ['x'], groupsClaim: 'groups' }]),
      /https/,
    );
    t.throws(
      () =>
        new ExternalJwtVerifier([
          { issuer: 'urn:x', audience: ['x'], jwksUri: 'http://idp.example.com/keys', groupsClaim: 'groups' },
        ]),
      /https/,
    );
    t.ok(
      new ExternalJwtVerifier([
        { issuer: 'urn:x', audience: ['x'], jwksUri: 'https://idp.example.com/keys', groupsClaim: 'groups' },
      ]).handles('urn:x'),
    );
  });
});
