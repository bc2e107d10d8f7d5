import t from 'tap';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { upstreamHeaders } from '../../src/propagation/headers.js';
import { AssertionSigner, ASSERTION_TTL_S } from '../../src/propagation/assertion.js';
import { loadSigningKey } from '../../src/propagation/keys.js';
import type { Principal } from '../../src/identity/principal.js';

const alice: Principal = {
  sub: 'alice',
  email: 'alice@example.com',
  name: 'Alice',
  groups: ['admin', 'support'],
  tenant: 'acme',
  scopes: [],
  source: 'session',
};

t.test('client identity headers and credentials are replaced, never forwarded', async (t) => {
  const h = upstreamHeaders(
    {
      'x-forwarded-user': 'mallory',
      'x-forwarded-email': 'm@evil',
      'x-forwarded-groups': 'admin',
      'x-forwarded-tenant': 'evil',
      'x-mcp-proxy-assertion': 'forged',
      authorization: 'Bearer client-token',
      'x-api-key': 'secret-key',
      cookie: 'mcp_proxy_session=abc',
      'mcp-session-id': 's1',
      'mcp-protocol-version': '2025-06-18',
      accept: 'application/json, text/event-stream',
      host: 'proxy',
      connection: 'keep-alive',
    },
    { principal: alice, assertion: 'signed', clientIp: '127.0.0.1', publicUrl: new URL('https://mcp.example.com') },
  );
  t.equal(h['x-forwarded-user'], 'alice');
  t.equal(h['x-forwarded-email'], 'alice@example.com');
  t.equal(h['x-forwarded-groups'], 'admin,support');
  t.equal(h['x-forwarded-tenant'], 'acme');
  t.equal(h['x-mcp-proxy-assertion'], 'signed');
  t.equal(h.authorization, undefined, 'no token passthrough');
  t.equal(h.cookie, undefined, 'no cookie passthrough');
  t.equal(h['x-api-key'], undefined, 'no API key passthrough');
  t.equal(h.host, undefined);
  t.equal(h.connection, undefined);
  t.equal(h['mcp-session-id'], 's1');
  t.equal(h['mcp-protocol-version'], '2025-06-18');
  t.equal(h['x-forwarded-proto'], 'https');
});

t.test('HTTP/2 pseudo-headers are never passed on (undici refuses them: a 502)', async (t) => {
  const h = upstreamHeaders(
    { ':authority': 'proxy', ':path': '/mcp', ':method': 'POST', ':scheme': 'https', accept: 'application/json' },
    { principal: alice, clientIp: '::1', publicUrl: new URL('https://x') },
  );
  t.same(
    Object.keys(h).filter((k) => k.startsWith(':')),
    [],
  );
  t.equal(h.accept, 'application/json');
});

t.test('forwardAccessToken sends the upstream token, not the client one', async (t) => {
  const h = upstreamHeaders(
    { authorization: 'Bearer client' },
    { principal: alice, clientIp: '::1', publicUrl: new URL('http://x'), accessToken: 'upstream' },
  );
  t.equal(h.authorization, 'Bearer upstream');
});

t.test('non-ASCII identity values are percent-encoded, not dropped or injected', async (t) => {
  const h = upstreamHeaders(
    {},
    {
      principal: { ...alice, email: 'zoë@example.com', groups: ['a\r\nx-evil: 1'] },
      clientIp: '::1',
      publicUrl: new URL('http://x'),
    },
  );
  t.equal(h['x-forwarded-email'], 'zo%C3%AB%40example.com');
  t.notMatch(h['x-forwarded-groups']!, /[\r\n]/);
});

t.test('the assertion verifies with the published key and carries identity', async (t) => {
  const key = await loadSigningKey();
  const signer = new AssertionSigner(key, 'https://mcp.example.com');
  const jwt = await signer.sign(alice, ['tickets', 'http://127.0.0.1:9000/mcp']);
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet({ keys: [key.publicJwk] }), {
    issuer: 'https://mcp.example.com',
    audience: 'tickets',
  });
  t.equal(protectedHeader.kid, key.kid);
  t.equal(payload.sub, 'alice');
  t.equal(payload.email, 'alice@example.com');
  t.same(payload.groups, ['admin', 'support']);
  t.equal(payload.tenant, 'acme');
  t.ok(payload.exp! - payload.iat! <= ASSERTION_TTL_S, 'lives at most 60 s');
  t.equal(await signer.sign(alice, ['tickets', 'http://127.0.0.1:9000/mcp']), jwt, 'reused while fresh');
  t.not(await signer.sign({ ...alice, groups: ['admin'] }, ['tickets']), jwt, 'a different identity gets its own');
  const other = await loadSigningKey();
  await t.rejects(jwtVerify(jwt, createLocalJWKSet({ keys: [other.publicJwk] })), 'another key does not verify it');
});

t.test('W3C trace context and the MCP 2026-07-28 request headers reach HTTP backends as sent', async (t) => {
  const sent = {
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': 'echo',
    'mcp-param-region': 'us-west1',
  };
  const h = upstreamHeaders(sent, { principal: alice, clientIp: '::1', publicUrl: new URL('http://x') });
  for (const [k, v] of Object.entries(sent)) t.equal(h[k], v, k);
  t.equal(h['mcp-session-id'], undefined, 'no session invented');
});
