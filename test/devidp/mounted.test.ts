/** The dev IdP mounted inside a host Fastify app at /_dev/idp, as the proxy does. */
import t from 'tap';
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import { devIdpPlugin, DEFAULT_DEV_USERS, listenFirst } from '../../src/devidp/plugin.js';
import { CookieJar } from '../helpers/login.js';
import { discover, rpClient, rpLogin, REDIRECT_URI } from './rp.js';

async function hostApp(opts: { formbody: boolean; consent: boolean }) {
  const { server, origin } = await listenFirst();
  const issuer = `${origin}/_dev/idp`;
  const warnings: string[] = [];
  const app = Fastify({ serverFactory: (handler) => server.on('request', handler) });
  if (opts.formbody) await app.register(formbody); // a host app that parses forms everywhere
  app.get('/', async () => ({ home: true }));
  app.post('/echo', async (req) => ({ got: req.body }));
  await app.register(devIdpPlugin, {
    prefix: '/_dev/idp',
    issuer,
    users: DEFAULT_DEV_USERS.map((u) => ({ ...u })),
    clients: [rpClient],
    consent: opts.consent,
    logger: { warn: (_obj: unknown, msg: string) => warnings.push(msg) } as never,
  });
  await app.ready();
  const close = async () => {
    await app.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { app, origin, issuer, warnings, close };
}

for (const variant of [
  { formbody: false, consent: true },
  { formbody: true, consent: false },
]) {
  t.test(`mounted (host formbody: ${variant.formbody}, consent: ${variant.consent})`, async (t) => {
    const host = await hostApp(variant);
    t.teardown(host.close);

    t.test('one loud startup warning', async (t) => {
      t.same(host.warnings, [`DEVELOPMENT IdP enabled at ${host.issuer} — never use in production`]);
    });

    t.test('discovery lists endpoints under the prefix', async (t) => {
      const res = await fetch(`${host.issuer}/.well-known/openid-configuration`);
      t.equal(res.status, 200);
      const doc = (await res.json()) as Record<string, string>;
      t.equal(doc.issuer, host.issuer);
      t.equal(doc.authorization_endpoint, `${host.issuer}/auth`);
      t.equal(doc.token_endpoint, `${host.issuer}/token`);
      t.equal(doc.end_session_endpoint, `${host.issuer}/session/end`);
      const oauth = await fetch(`${host.issuer}/.well-known/oauth-authorization-server`);
      t.equal(oauth.status, 200);
    });

    t.test('the host app keeps its own routes and body parsing', async (t) => {
      t.same(await (await fetch(`${host.origin}/`)).json(), { home: true });
      const echo = await fetch(`${host.origin}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: 1 }),
      });
      t.same(await echo.json(), { got: { a: 1 } });
      t.equal((await fetch(`${host.origin}/auth`)).status, 404, 'nothing leaks out of the prefix');
    });

    t.test('a full login', async (t) => {
      const config = await discover(host.issuer);
      const jar = new CookieJar();
      const { login, tokens } = await rpLogin(config, { username: 'alice', password: 'alice' }, jar);
      t.ok(login.finalUrl.startsWith(REDIRECT_URI));
      t.ok(
        login.hops.some((h) => h.includes('/_dev/idp/interaction/')),
        'interaction pages under the prefix',
      );
      t.equal(
        login.hops.some((h) => h.endsWith('/confirm')),
        variant.consent,
        'consent page only when asked',
      );
      t.equal(tokens!.claims()!.sub, 'alice');
      t.same(tokens!.claims()!.groups, ['admin', 'support']);
      t.equal(tokens!.claims()!.iss, host.issuer);
    });
  });
}

t.test('an issuer outside the prefix is refused at startup', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  app.register(devIdpPlugin, {
    prefix: '/_dev/idp',
    issuer: 'http://127.0.0.1:1/elsewhere',
    users: [],
    clients: [],
    consent: false,
  });
  await t.rejects(async () => app.ready(), /not under the app's prefix/);
});
