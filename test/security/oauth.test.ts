// Hostile input at the proxy's own authorization server: redirect_uri tricks, code and PKCE
// abuse, consent CSRF and framing, hostile registration metadata, device flow abuse.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { connectionCounter } from '../helpers/hostile-tokens.js';
import { CookieJar, parseForms } from '../helpers/login.js';
import { asMetadata, authorizeUrl, getCode, pkce, register, tokenRequest } from '../helpers/oauth-manual.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: false });
t.teardown(() => stack.close());
const { proxy } = stack;
const meta = await asMetadata(proxy.url);
const RESOURCE = `${proxy.url}/mcp/demo`;
const WEB = 'https://app.example.com/cb';
const LOOPBACK = 'http://127.0.0.1:33450/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** POST a registration request as JSON; the raw status and parsed body. */
async function dcr(metadata: Record<string, unknown>) {
  const res = await fetch(meta.registration_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'hostile',
      redirect_uris: [WEB],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
const form = (url: string, body: Record<string, string>) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));

const client = (await register(proxy.url, LOOPBACK, { redirect_uris: [WEB, LOOPBACK] })).client.client_id;

/** /auth with this redirect_uri must answer the error page itself: 400, no redirect anywhere. */
async function redirectRefused(t: Test, redirectUri: string) {
  const res = await fetch(
    authorizeUrl(meta, {
      client_id: client,
      redirect_uri: redirectUri,
      code_challenge: pkce().challenge,
      resource: RESOURCE,
    }),
    { redirect: 'manual' },
  );
  t.equal(res.status, 400);
  t.equal(res.headers.get('location'), null, 'no redirect');
  const page = await res.text();
  t.match(page, '<span id="error-code">invalid_redirect_uri</span>', 'the error page names the OAuth error');
  t.match(page, `<code id="request-id">${res.headers.get('x-request-id')}</code>`, 'and the request id');
}

t.test('control: the registered redirect URIs are accepted', async (t) => {
  for (const uri of [WEB, LOOPBACK, 'http://127.0.0.1:40999/callback']) {
    const res = await fetch(
      authorizeUrl(meta, {
        client_id: client,
        redirect_uri: uri,
        code_challenge: pkce().challenge,
        resource: RESOURCE,
      }),
      { redirect: 'manual' },
    );
    t.equal(res.status, 303, uri);
    t.match(res.headers.get('location') ?? '', /^\/interaction\//);
  }
});

t.test('redirect_uri: a different path (trailing slash)', (t) => redirectRefused(t, `${WEB}/`));
t.test('redirect_uri: dot segments that resolve to the same path', (t) =>
  redirectRefused(t, 'https://app.example.com/x/../cb'),
);
t.test('redirect_uri: an extra query parameter', (t) => redirectRefused(t, `${WEB}?next=https://evil.example.com`));
t.test('redirect_uri: another port on an https host', (t) => redirectRefused(t, 'https://app.example.com:8443/cb'));
t.test('redirect_uri: the registered host as userinfo of another host', (t) =>
  redirectRefused(t, 'https://app.example.com@evil.example.com/cb'),
);
t.test('redirect_uri: a fragment', (t) => redirectRefused(t, `${WEB}#x`));
t.test('redirect_uri: case changes in host and path', async (t) => {
  await redirectRefused(t, 'https://APP.example.com/cb');
  await redirectRefused(t, 'https://app.example.com/CB');
});
t.test('loopback redirect_uri: only the port may change, not the host name', (t) =>
  redirectRefused(t, 'http://localhost:33450/callback'),
);
t.test('loopback redirect_uri: userinfo is refused even on the right host and path', (t) =>
  redirectRefused(t, 'http://evil@127.0.0.1:40999/callback'),
);
t.test('loopback redirect_uri: a fragment is refused on another port', (t) =>
  redirectRefused(t, 'http://127.0.0.1:40999/callback#x'),
);

async function code(c = client, redirect = LOOPBACK, state?: string) {
  const { verifier, challenge } = pkce();
  const r = await getCode(
    authorizeUrl(meta, {
      client_id: c,
      redirect_uri: redirect,
      code_challenge: challenge,
      resource: RESOURCE,
      ...(state ? { state } : {}),
    }),
    redirect,
  );
  return { code: r.code!, verifier, back: new URL(r.result.finalUrl) };
}
const exchange = (c: { code: string; verifier: string }, over: Record<string, string> = {}) =>
  tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: c.code,
    code_verifier: c.verifier,
    client_id: client,
    redirect_uri: LOOPBACK,
    resource: RESOURCE,
    ...over,
  });

t.test('PKCE downgrade: code_challenge_method=plain is refused at /auth', async (t) => {
  const v = pkce().verifier;
  const res = await fetch(
    authorizeUrl(meta, {
      client_id: client,
      redirect_uri: LOOPBACK,
      code_challenge: v,
      code_challenge_method: 'plain',
      resource: RESOURCE,
    }),
    { redirect: 'manual' },
  );
  const back = new URL(res.headers.get('location') ?? 'about:blank');
  t.equal(`${back.origin}${back.pathname}`, LOOPBACK, 'the error goes back to the client');
  t.equal(back.searchParams.get('error'), 'invalid_request');
  t.equal(back.searchParams.get('code'), null, 'no code');
});

t.test('a code redeemed without any code_verifier', async (t) => {
  const c = await code();
  const res = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: c.code,
    client_id: client,
    redirect_uri: LOOPBACK,
    resource: RESOURCE,
  });
  t.same([res.status, res.body.error, res.body.access_token], [400, 'invalid_grant', undefined]);
});

t.test('a code redeemed by another client, with the right verifier', async (t) => {
  const c = await code();
  const other = (await register(proxy.url, LOOPBACK)).client.client_id;
  const res = await exchange(c, { client_id: other });
  t.same([res.status, res.body.error, res.body.access_token], [400, 'invalid_grant', undefined]);
});

t.test('a code redeemed with another registered redirect_uri than the one it was issued for', async (t) => {
  const c = await code();
  const res = await exchange(c, { redirect_uri: WEB });
  t.same([res.status, res.body.error, res.body.access_token], [400, 'invalid_grant', undefined]);
});

t.test('code replay also kills the refresh token the first redemption issued', async (t) => {
  const c = await code();
  const first = await exchange(c);
  t.equal(first.status, 200);
  t.ok(first.body.refresh_token, 'a refresh token was issued');
  t.equal((await exchange(c)).body.error, 'invalid_grant', 'replay refused');
  const refreshed = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: first.body.refresh_token!,
    client_id: client,
  });
  t.same([refreshed.status, refreshed.body.error], [400, 'invalid_grant']);
});

t.test('a hostile state is returned byte for byte, encoded, never as markup or headers', async (t) => {
  const state = `"><script>x</script>\r\nSet-Cookie: pwn=1 ${randomBytes(4).toString('hex')}`;
  const { back } = await code(client, LOOPBACK, state);
  t.equal(back.searchParams.get('state'), state);
  t.notMatch(back.href, /[\r\n<>"]/, 'the Location is fully percent-encoded');
});

/** Log in, start an authorization for a new client named `name`, follow redirects to its consent page. */
async function consentPage(name = 'consent-test') {
  const { jar } = await loginThroughProxy(proxy.url, 'alice');
  const c = (await register(proxy.url, LOOPBACK, { client_name: name })).client.client_id;
  let url = new URL(
    authorizeUrl(meta, { client_id: c, redirect_uri: LOOPBACK, code_challenge: pkce().challenge, resource: RESOURCE }),
  );
  let res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) ?? '' } });
  for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
    jar.setFromResponse(url, res);
    url = new URL(res.headers.get('location')!, url);
    res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) ?? '' } });
  }
  const html = await res.text();
  const allow = parseForms(html, url.href).find((f) => f.action.endsWith('/confirm'));
  if (!allow) throw new Error(`no consent page at ${url.href}: ${res.status}`);
  return { url, res, html, jar, allow };
}
/** Whether the interaction still shows its consent page, i.e. nothing was granted. */
const stillAsking = async (p: Awaited<ReturnType<typeof consentPage>>) =>
  /Allow access\?/.test(await (await fetch(p.url, { headers: { cookie: p.jar.header(p.url) ?? '' } })).text());
/** Control: the untouched form, posted as the browser would, is accepted (303 back to the authorization). */
const honestPost = async (p: Awaited<ReturnType<typeof consentPage>>) =>
  (
    await fetch(p.allow.action, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: p.jar.header(p.allow.action) ?? '',
        origin: proxy.url,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(p.allow.fields),
    })
  ).status;

t.test('consent CSRF: the form posted without its interaction cookie grants nothing', async (t) => {
  const p = await consentPage();
  const cookies = (p.jar.header(p.allow.action) ?? '')
    .split('; ')
    .filter((c) => !c.startsWith('mcp_proxy_as_interaction'))
    .join('; ');
  const res = await fetch(p.allow.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookies, origin: proxy.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(p.allow.fields),
  });
  t.equal(res.status, 400);
  t.equal(res.headers.get('location'), null, 'no redirect to the client');
  t.ok(await stillAsking(p), 'the consent is still pending');
  t.equal(await honestPost(p), 303, 'control: the same form with its cookie and our Origin is accepted');
});

t.test('consent CSRF: the full form posted from a foreign Origin is 403', async (t) => {
  const p = await consentPage();
  const res = await fetch(p.allow.action, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: p.jar.header(p.allow.action) ?? '',
      origin: 'https://evil.example.com',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(p.allow.fields),
  });
  t.equal(res.status, 403);
  t.equal(res.headers.get('location'), null);
  t.ok(await stillAsking(p), 'the consent is still pending');
  t.equal(await honestPost(p), 303, 'control: the same form with its cookie and our Origin is accepted');
});

t.test('a client_name with markup is shown escaped on the consent page', async (t) => {
  const p = await consentPage('<img src=x onerror=alert(1)>');
  t.match(p.html, /<strong id="client-name">&lt;img src=x onerror=alert\(1\)&gt;<\/strong>/);
  t.notMatch(p.html, /<img src=x/);
});

const FRAMING = { 'x-frame-options': 'SAMEORIGIN', 'frame-ancestors': "frame-ancestors 'none'" };
const framing = (res: Response) => ({
  'x-frame-options': res.headers.get('x-frame-options'),
  'frame-ancestors': /frame-ancestors [^;]+/.exec(res.headers.get('content-security-policy') ?? '')?.[0],
});

t.test('clickjacking: the consent page forbids framing', async (t) => {
  t.same(framing((await consentPage()).res), FRAMING);
});
t.test('clickjacking: the device code page (rendered by oidc-provider) forbids framing', async (t) => {
  t.same(framing(await fetch(`${proxy.url}/device`)), FRAMING);
});
t.test('clickjacking: the authorization error page forbids framing', async (t) => {
  t.same(framing(await fetch(authorizeUrl(meta, { client_id: 'no-such-client', redirect_uri: LOOPBACK }))), FRAMING);
});

t.test('DCR: a javascript: redirect_uri', async (t) => {
  t.same(await dcr({ redirect_uris: ['javascript:alert(document.cookie)//'] }), {
    status: 400,
    body: {
      error: 'invalid_redirect_uri',
      error_description: 'redirect_uris must be https or loopback http URLs (javascript:alert(document.cookie)//)',
    },
  });
});
t.test('DCR: a data: redirect_uri', async (t) => {
  t.same(await dcr({ redirect_uris: ['data:text/html,<script>alert(1)</script>'] }), {
    status: 400,
    body: {
      error: 'invalid_redirect_uri',
      error_description: 'redirect_uris must be https or loopback http URLs (data:text/html,<script>alert(1)</script>)',
    },
  });
});
t.test('DCR: a 1 MB client_name is refused by the body limit', async (t) => {
  t.same(await dcr({ client_name: 'x'.repeat(1024 * 1024) }), {
    status: 400,
    body: { error: 'invalid_request', error_description: 'failed to parse the request body' },
  });
});
t.test('DCR: 3000 redirect_uris (over the 56 KiB body limit) are refused', async (t) => {
  t.same(await dcr({ redirect_uris: Array.from({ length: 3000 }, (_, i) => `${WEB}${i}`) }), {
    status: 400,
    body: { error: 'invalid_request', error_description: 'failed to parse the request body' },
  });
});
t.test('DCR: a native client with plain http to a non-loopback host', async (t) => {
  t.same(await dcr({ application_type: 'native', redirect_uris: ['http://app.example.com/cb'] }), {
    status: 400,
    body: {
      error: 'invalid_redirect_uri',
      error_description: 'redirect_uris must be https or loopback http URLs (http://app.example.com/cb)',
    },
  });
});
t.test('DCR: an unsupported grant type (password)', async (t) => {
  const res = await dcr({ grant_types: ['password'] });
  t.same([res.status, res.body.error], [400, 'invalid_client_metadata']);
  t.match(res.body.error_description, /^grant_types can only contain/);
});
t.test('DCR: the implicit response type', async (t) => {
  const res = await dcr({ response_types: ['token'], grant_types: ['implicit'] });
  t.same([res.status, res.body.error], [400, 'invalid_client_metadata']);
});
t.test('DCR: a javascript: logo_uri', async (t) => {
  t.same(await dcr({ logo_uri: 'javascript:alert(1)' }), {
    status: 400,
    body: { error: 'invalid_client_metadata', error_description: 'logo_uri must be a web uri' },
  });
});

async function deviceClient() {
  const res = await dcr({ grant_types: [DEVICE_GRANT], response_types: [], redirect_uris: [] });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.client_id!;
}
const deviceAuth = async (c: string) =>
  form(meta.device_authorization_endpoint!, { client_id: c, scope: 'mcp', resource: RESOURCE });

t.test("device flow: polling with another client's device_code", async (t) => {
  const [a, b] = [await deviceClient(), await deviceClient()];
  const started = await deviceAuth(a);
  t.equal(started.status, 200);
  const res = await form(meta.token_endpoint!, {
    grant_type: DEVICE_GRANT,
    device_code: started.body.device_code!,
    client_id: b,
  });
  t.same([res.status, res.body.error, res.body.access_token], [400, 'invalid_grant', undefined]);
  t.equal(
    (
      await form(meta.token_endpoint!, {
        grant_type: DEVICE_GRANT,
        device_code: started.body.device_code!,
        client_id: a,
      })
    ).body.error,
    'authorization_pending',
    'the rightful client still waits',
  );
});

t.test('device flow: polling with a forged device_code', async (t) => {
  const res = await form(meta.token_endpoint!, {
    grant_type: DEVICE_GRANT,
    device_code: randomBytes(32).toString('base64url'),
    client_id: await deviceClient(),
  });
  t.same([res.status, res.body.error], [400, 'invalid_grant']);
});

t.test('device flow: a client registered without the device grant cannot start one', async (t) => {
  const res = await deviceAuth(client);
  t.same(res, {
    status: 400,
    body: { error: 'invalid_request', error_description: `${DEVICE_GRANT} is not allowed for this client` },
  });
});

t.test('device flow: the code form posted without its xsrf token confirms nothing', async (t) => {
  const c = await deviceClient();
  const started = await deviceAuth(c);
  const jar = new CookieJar();
  const page = await fetch(`${proxy.url}/device`);
  jar.setFromResponse(`${proxy.url}/device`, page);
  const res = await fetch(`${proxy.url}/device`, {
    method: 'POST',
    headers: {
      cookie: jar.header(`${proxy.url}/device`) ?? '',
      origin: proxy.url,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ user_code: started.body.user_code! }),
    redirect: 'manual',
  });
  t.equal(res.status, 400);
  t.notMatch(await res.text(), /Confirm the device/);
  t.equal(
    (
      await form(meta.token_endpoint!, {
        grant_type: DEVICE_GRANT,
        device_code: started.body.device_code!,
        client_id: c,
      })
    ).body.error,
    'authorization_pending',
  );
  const fields = parseForms(
    await (await fetch(`${proxy.url}/device`, { headers: { cookie: jar.header(`${proxy.url}/device`) ?? '' } })).text(),
    `${proxy.url}/device`,
  )[0]!.fields;
  const control = await fetch(`${proxy.url}/device`, {
    method: 'POST',
    headers: {
      cookie: jar.header(`${proxy.url}/device`) ?? '',
      origin: proxy.url,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ ...fields, user_code: started.body.user_code! }),
    redirect: 'manual',
  });
  t.match(
    await control.text(),
    /Confirm the device/,
    'control: with its xsrf token the same post reaches the confirm page',
  );
});

// ---- what a registering client may make the proxy do: redirect a code, fetch a key set ------

const registration = (metadata: Record<string, unknown>) =>
  fetch(meta.registration_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'hostile',
      token_endpoint_auth_method: 'none',
      redirect_uris: [LOOPBACK],
      ...metadata,
    }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));

for (const uris of [
  ['http://evil.example/cb'],
  [LOOPBACK, 'http://evil.example/cb'],
  ['http://10.0.0.5/cb'],
  ['custom-scheme:/cb'],
  ['ftp://files.example/cb'],
]) {
  t.test(
    `registration with redirect_uris ${JSON.stringify(uris)}: refused invalid_redirect_uri (MCP: https or ` +
      'loopback http only)',
    async (t) => {
      const r = await registration({ redirect_uris: uris });
      t.equal(r.status, 400);
      t.equal(r.body.error, 'invalid_redirect_uri');
    },
  );
}

t.test('control: https and loopback http redirect URIs register', async (t) => {
  const r = await registration({ redirect_uris: [WEB, LOOPBACK, 'http://localhost:8765/cb', 'http://[::1]:8765/cb'] });
  t.equal(r.status, 201);
});

t.test(
  'a private_key_jwt client naming a loopback jwks_uri: refused at registration, and no TCP connection ever ' +
    'reaches the port',
  async (t) => {
    const listener = await connectionCounter('127.0.0.1');
    t.teardown(() => listener.close());
    for (const jwksUri of [
      `http://127.0.0.1:${listener.port}/jwks`,
      `https://127.0.0.1:${listener.port}/jwks`,
      `https://localhost:${listener.port}/jwks`,
      `https://[::ffff:127.0.0.1]:${listener.port}/jwks`,
    ]) {
      const r = await registration({
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        jwks_uri: jwksUri,
      });
      t.equal(r.status, 400, jwksUri);
      t.equal(r.body.error, 'invalid_client_metadata');
      if (r.status === 201) {
        // Registered: authenticating makes the provider fetch the key set — the probe this guards against.
        const { privateKey } = await generateKeyPair('ES256');
        const assertion = await new SignJWT({})
          .setProtectedHeader({ alg: 'ES256' })
          .setIssuer(r.body.client_id!)
          .setSubject(r.body.client_id!)
          .setAudience(meta.token_endpoint!)
          .setJti(randomBytes(8).toString('hex'))
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(privateKey);
        await form(meta.token_endpoint!, {
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        });
      }
    }
    t.equal(listener.connections, 0, 'no connection was accepted');
  },
);
