// RFC 8628 device authorization grant end to end against the proxy's AS: DCR of a public
// device client → /device/auth (resource = an MCP URL) → polling gives authorization_pending →
// the user, elsewhere, enters the code, confirms, logs in (proxy /oauth/login → upstream IdP)
// and consents → the next poll gives a JWT for the MCP URL → the SDK client calls whoami with
// it. Wrong codes and Cancel grant nothing.
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CookieJar, headlessLogin, parseForms, type ParsedForm } from '../helpers/login.js';
import { startStack } from '../helpers/stack.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const stack = await startStack({ consent: true });
t.teardown(() => stack.close());
const { proxy } = stack;
const mcpUrl = `${proxy.url}/mcp/demo`;
const as = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;

const form = (body: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  body: new URLSearchParams(body),
});

async function registerDeviceClient(name = 'Device test client') {
  const res = await fetch(as.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: name,
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      response_types: [],
      token_endpoint_auth_method: 'none',
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

async function startDevice(clientId: string, scope = 'mcp offline_access'): Promise<DeviceAuthorization> {
  const res = await fetch(as.device_authorization_endpoint, form({ client_id: clientId, scope, resource: mcpUrl }));
  if (res.status !== 200) throw new Error(`device authorization: ${res.status} ${await res.text()}`);
  return (await res.json()) as DeviceAuthorization;
}

async function poll(clientId: string, deviceCode: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(
    as.token_endpoint,
    form({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** The user's browser: a jar and fetch with redirect: 'manual', as headlessLogin does it. */
function browser() {
  const jar = new CookieJar();
  async function send(url: string, fields?: Record<string, string>) {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (fields)
      Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin });
    const res = await fetch(url, {
      method: fields ? 'POST' : 'GET',
      headers,
      body: fields && new URLSearchParams(fields),
      redirect: 'manual',
    });
    jar.setFromResponse(url, res);
    const html = res.headers.get('content-type')?.includes('html') ? await res.text() : '';
    return { res, html, forms: parseForms(html, url) };
  }
  return { jar, send };
}

/** The device page's form: it posts back to the verification URI. */
const deviceForm = (forms: ParsedForm[], verificationUri: string) =>
  forms.find((f) => f.method === 'POST' && f.action === verificationUri);
const jwtPayload = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, any>;

t.test('metadata and DCR for a device client', async (t) => {
  t.ok(as.device_authorization_endpoint, 'device_authorization_endpoint advertised');
  t.ok(as.grant_types_supported.includes(DEVICE_GRANT), 'device grant advertised');
  const { status, body } = await registerDeviceClient();
  t.equal(status, 201, 'DCR accepts {grant_types: [device_code, refresh_token], response_types: [], auth: none}');
  t.same(body.grant_types, [DEVICE_GRANT, 'refresh_token']);
  t.same(body.response_types, []);
  t.same(body.redirect_uris, [], 'no redirect URIs needed');
  t.equal(body.token_endpoint_auth_method, 'none');
});

t.test(
  'device flow end to end: pending, then the user approves, then a token that works on /mcp/demo',
  { timeout: 60_000 },
  async (t) => {
    const { body: client } = await registerDeviceClient();
    const clientId = client.client_id as string;
    const device = await startDevice(clientId);
    t.match(device.user_code, /^[A-Z]{4}-[A-Z]{4}$/, 'a user code');
    t.ok(device.device_code, 'a device code');
    t.equal(new URL(device.verification_uri).origin, proxy.url, 'verification page on the proxy');
    t.ok(device.expires_in > 0);

    // The device polls in the background while the user is busy elsewhere.
    const polls: Array<{ status: number; body: Record<string, any> }> = [];
    let stop = false;
    const poller = (async () => {
      const deadline = Date.now() + 45_000;
      while (!stop && Date.now() < deadline) {
        const r = await poll(clientId, device.device_code);
        polls.push(r);
        if (r.body.error !== 'authorization_pending') return r;
        // faster than the RFC's 5 s default: the AS does not enforce slow_down
        await new Promise((res) => setTimeout(res, 300));
      }
      throw new Error('no token within 45 s');
    })();
    poller.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
    t.teardown(() => {
      stop = true;
    });
    while (polls.length === 0) await new Promise((res) => setTimeout(res, 20));
    t.equal(polls[0]!.status, 400, 'first poll before approval: 400');
    t.equal(polls[0]!.body.error, 'authorization_pending', 'first poll before approval: authorization_pending');

    // The user: open the verification URI, type the code, confirm.
    const b = browser();
    const entry = await b.send(device.verification_uri);
    t.equal(entry.res.status, 200);
    const codeForm = deviceForm(entry.forms, device.verification_uri);
    t.ok(codeForm?.inputNames.includes('user_code'), 'a form with a user_code field');
    const confirm = await b.send(codeForm!.action, {
      ...codeForm!.fields,
      user_code: device.user_code.toLowerCase().replace('-', ' '),
    });
    t.equal(confirm.res.status, 200);
    t.match(confirm.html, /Device test client/, 'the confirm page names the client');
    t.match(confirm.html, device.user_code, 'and shows the code (normalised from what was typed)');
    const confirmForm = deviceForm(confirm.forms, device.verification_uri);
    t.ok(confirmForm, 'a confirm form');
    const [continueButton, cancelButton] = confirmForm!.buttons;
    t.equal(continueButton?.text, 'Continue');
    t.equal(cancelButton?.name, 'abort', 'Cancel is the abort button, not submitted here');
    const next = await b.send(confirmForm!.action, confirmForm!.fields);
    t.equal(next.res.status, 303);
    const interaction = new URL(next.res.headers.get('location')!, confirmForm!.action);
    t.match(interaction.pathname, /^\/interaction\/[^/]+$/, 'to the proxy interaction');

    // Still pending while the user logs in.
    t.ok(
      polls.every((p) => p.body.error === 'authorization_pending'),
      'all polls so far: authorization_pending',
    );

    // No proxy session: /oauth/login → upstream IdP login → back → consent → Allow → success page.
    const login = await headlessLogin({ startUrl: interaction.href, username: 'alice', password: 'alice', jar: b.jar });
    const hops = login.hops.join('\n');
    t.match(hops, /\/oauth\/login\?returnTo=%2Finteraction%2F/, 'sent to the proxy login');
    t.ok(
      login.hops.some((h) => h.startsWith(`POST ${stack.idp.issuer}/`)),
      'logged in at the upstream IdP',
    );
    t.match(hops, /\/oauth\/callback\?code=/, 'back through the proxy callback');
    t.match(hops, /POST \S+\/interaction\/[^/\s]+\/confirm/, 'consent given on the proxy consent page');
    t.equal(login.response.status, 200);
    t.match(login.body ?? '', /Device connected/, 'success page');

    const granted = await poller;
    t.equal(granted.status, 200, 'token issued after approval');
    t.equal(granted.body.token_type, 'Bearer');
    t.equal(granted.body.scope, 'mcp');
    t.ok(granted.body.refresh_token, 'a refresh token (the client may refresh)');
    const claims = jwtPayload(granted.body.access_token);
    t.equal(claims.aud, mcpUrl, 'aud = the MCP URL (resource)');
    t.equal(claims.sub, 'alice');
    t.equal(claims.client_id, clientId);
    t.equal(claims.iss, proxy.url);

    // The SDK client with the bearer token.
    const mcp = new Client({ name: 'device-test', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${granted.body.access_token}` } },
      }),
    );
    t.teardown(() => mcp.close().catch(() => undefined));
    const who = (await mcp.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
    t.equal(who.user, 'alice', 'whoami says alice');
    t.same(who.groups, ['admin', 'support']);
    t.equal(who.assertion?.valid, true);
    t.equal(who.leakedAuthorization, false, 'the bearer token is not passed through');

    // Refresh works for the device client and rotates.
    const refreshed = await fetch(
      as.token_endpoint,
      form({ grant_type: 'refresh_token', refresh_token: granted.body.refresh_token, client_id: clientId }),
    );
    const rb = (await refreshed.json()) as Record<string, any>;
    t.equal(refreshed.status, 200, 'refresh_token grant');
    t.equal(jwtPayload(rb.access_token).aud, mcpUrl, 'the refreshed token keeps the resource');
    t.not(rb.refresh_token, granted.body.refresh_token, 'rotated');

    // The device code is spent: replaying it is refused and (code-replay defence) revokes the
    // grant, which the proxy honours at once for the live access token.
    const reuse = await poll(clientId, device.device_code);
    t.equal(reuse.status, 400);
    t.equal(reuse.body.error, 'invalid_grant', 'a device code gives one token');
    const after = await fetch(mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${rb.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    t.equal(after.status, 401, 'replay revoked the grant: its access token is refused');
    t.match(after.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const refreshAfter = await fetch(
      as.token_endpoint,
      form({ grant_type: 'refresh_token', refresh_token: rb.refresh_token, client_id: clientId }),
    );
    t.equal(((await refreshAfter.json()) as Record<string, any>).error, 'invalid_grant', 'and its refresh token');
  },
);

t.test(
  'the verification_uri_complete link works through headlessLogin (code in the URL)',
  { timeout: 60_000 },
  async (t) => {
    const { body: client } = await registerDeviceClient('Second device');
    const device = await startDevice(client.client_id, 'mcp');
    t.ok(device.verification_uri_complete, 'verification_uri_complete returned');
    const seen: string[] = [];
    const login = await headlessLogin({
      startUrl: device.verification_uri_complete!,
      username: 'bob',
      password: 'bob',
      jar: new CookieJar(),
      // The device forms are not login forms: submit the auto-posted code and the confirm form
      // (its first button is Continue; never the abort one).
      submitForm: (f) => {
        if (f.action !== device.verification_uri) return undefined;
        seen.push(f.fields.confirm ? 'confirm' : 'code');
        return f.buttons[0]?.name !== 'abort';
      },
    });
    t.same(seen, ['code', 'confirm'], 'the code page (auto-submitted) then the confirm page');
    t.match(login.body ?? '', /Device connected/);
    const granted = await poll(client.client_id, device.device_code);
    t.equal(granted.status, 200);
    t.equal(jwtPayload(granted.body.access_token).sub, 'bob');
    t.equal(jwtPayload(granted.body.access_token).aud, mcpUrl, 'resource from the device authorization request');
    const res = await fetch(mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${granted.body.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body:
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",' +
        '"capabilities":{},"clientInfo":{"name":"x","version":"1"}}}',
    });
    t.equal(res.status, 200, 'the bearer token is accepted on /mcp/demo');
    await res.body?.cancel();
  },
);

t.test('a wrong user code shows an error and grants nothing; Cancel denies', { timeout: 60_000 }, async (t) => {
  const { body: client } = await registerDeviceClient();
  const device = await startDevice(client.client_id);
  const b = browser();
  const entry = await b.send(device.verification_uri);
  const codeForm = deviceForm(entry.forms, device.verification_uri)!;
  const wrong = device.user_code === 'BCDF-GHJK' ? 'BCDF-GHJL' : 'BCDF-GHJK';
  const bad = await b.send(codeForm.action, { ...codeForm.fields, user_code: wrong });
  t.notOk(bad.res.headers.get('location'), 'no redirect to a login or interaction');
  t.match(bad.html, /id="error"[^>]*>[^<]*not valid or has expired/, 'the page shows an error');
  t.ok(deviceForm(bad.forms, device.verification_uri)?.inputNames.includes('user_code'), 'and asks for the code again');
  t.notMatch(bad.html, /Confirm the device/);
  t.equal(b.jar.get(proxy.url, 'mcp_proxy_as_interaction'), undefined, 'no interaction started');
  const stillPending = await poll(client.client_id, device.device_code);
  t.equal(stillPending.body.error, 'authorization_pending', 'the real device is still pending: nothing granted');

  const garbage = await b.send(codeForm.action, {
    ...deviceForm(bad.forms, device.verification_uri)!.fields,
    user_code: 'not a code',
  });
  t.match(garbage.html, /id="error"/, 'garbage gives an error too');

  // The right code, then Cancel on the confirm page: the device gets access_denied.
  const again = await b.send(device.verification_uri);
  const confirm = await b.send(codeForm.action, {
    ...deviceForm(again.forms, device.verification_uri)!.fields,
    user_code: device.user_code,
  });
  const confirmForm = deviceForm(confirm.forms, device.verification_uri)!;
  const cancel = confirmForm.buttons.find((x) => x.name === 'abort')!;
  const aborted = await b.send(confirmForm.action, { ...confirmForm.fields, [cancel.name!]: cancel.value ?? '' });
  t.notOk(aborted.res.headers.get('location'), 'Cancel does not go on to a login');
  const denied = await poll(client.client_id, device.device_code);
  t.equal(denied.status, 400);
  t.equal(denied.body.error, 'access_denied', 'Cancel → access_denied for the device');
  t.notOk(denied.body.access_token);
});

// Regression guard: the page once rendered a second user_code input, so browsers posted the
// field twice and oidc-provider refused every code typed on the page.
t.test('the code page, as a browser submits it', async (t) => {
  const { body: client } = await registerDeviceClient();
  const device = await startDevice(client.client_id);
  const b = browser();
  const entry = await b.send(device.verification_uri);
  const codeForm = deviceForm(entry.forms, device.verification_uri)!;
  t.equal(codeForm.inputNames.filter((n) => n === 'user_code').length, 1, 'one user_code input on the page');
  // What a browser posts: every named input in order; the code typed into the last text field.
  const body = codeForm.inputNames.map(
    (n) => [n, n === 'user_code' ? '' : (codeForm.fields[n] ?? '')] as [string, string],
  );
  body[body.map(([n]) => n).lastIndexOf('user_code')]![1] = device.user_code;
  const res = await fetch(codeForm.action, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: b.jar.header(codeForm.action) ?? '',
      origin: proxy.url,
    },
    body: new URLSearchParams(body),
    redirect: 'manual',
  });
  t.match(await res.text(), /Confirm the device/, 'the browser-shaped submission reaches the confirm page');
});
