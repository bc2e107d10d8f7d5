/** The generic oidc-provider mount: root issuer (like the proxy's AS), JSON bodies, enabled features only. */
import t from 'tap';
import Fastify from 'fastify';
import Provider from 'oidc-provider';
import { mountProvider, normalizePrefix, prefixFor, providerPaths } from '../../src/lib/oidc-provider-mount.js';
import { listenFirst } from '../../src/devidp/plugin.js';

t.test('normalizePrefix', async (t) => {
  t.equal(normalizePrefix('/'), '');
  t.equal(normalizePrefix(''), '');
  t.equal(normalizePrefix('/a/b/'), '/a/b');
  t.equal(normalizePrefix('a'), '/a');
});

t.test('prefixFor', async (t) => {
  const app = Fastify();
  t.equal(prefixFor(app, 'http://h/_dev/idp'), '/_dev/idp');
  t.equal(prefixFor(app, 'http://h'), '');
  await app.register(
    async (child) => {
      t.equal(prefixFor(child, 'http://h/_dev/idp'), '');
      t.equal(prefixFor(child, 'http://h/_dev/idp/x'), '/x');
      t.throws(() => prefixFor(child, 'http://h/_dev/idpx'), /not under/);
    },
    { prefix: '/_dev/idp' },
  );
  await app.close();
});

t.test('providerPaths follows the enabled features', async (t) => {
  const plain = new Provider('http://127.0.0.1:1', { features: { devInteractions: { enabled: false } } });
  const paths = providerPaths(plain);
  t.ok(paths.includes('/auth/:uid'));
  t.ok(paths.includes('/.well-known/openid-configuration'));
  t.notOk(paths.includes('/reg'), 'registration is off by default');
  t.notOk(
    paths.some((p) => p.startsWith('/interaction')),
    'no dev interactions',
  );
  const withReg = new Provider('http://127.0.0.1:1', {
    features: { devInteractions: { enabled: false }, registration: { enabled: true } },
  });
  t.ok(providerPaths(withReg).includes('/reg'));
  t.ok(providerPaths(withReg).includes('/reg/:clientId'));
});

t.test('a root issuer next to the host routes, with JSON bodies left for the provider', async (t) => {
  const { server, origin } = await listenFirst();
  const provider = new Provider(origin, {
    features: { devInteractions: { enabled: false }, registration: { enabled: true, initialAccessToken: false } },
  });
  const app = Fastify({ serverFactory: (handler) => server.on('request', handler) });
  app.post('/api/echo', async (req) => ({ got: req.body }));
  await mountProvider(app, { provider });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const doc = (await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    string
  >;
  t.equal(doc.issuer, origin);
  t.equal(doc.registration_endpoint, `${origin}/reg`);

  const reg = await fetch(`${origin}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['https://rp.example/cb'], token_endpoint_auth_method: 'none' }),
  });
  t.equal(reg.status, 201, 'JSON body reached the provider unread');
  const client = (await reg.json()) as { client_id: string; registration_client_uri: string };
  t.ok(client.client_id);
  t.equal(client.registration_client_uri, `${origin}/reg/${client.client_id}`);

  const preflight = await fetch(`${origin}/token`, {
    method: 'OPTIONS',
    headers: { origin: 'https://rp.example', 'access-control-request-method': 'POST' },
  });
  t.equal(preflight.status, 204, 'CORS preflight answered by the provider');

  const echo = await fetch(`${origin}/api/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"x":1}',
  });
  t.same(await echo.json(), { got: { x: 1 } }, 'host parsers untouched');
});
