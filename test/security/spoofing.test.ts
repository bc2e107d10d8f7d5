/**
 * Identity spoofing: whatever identity a client claims — headers in any case,
 * duplicated or comma-joined, our `_meta` key, Forwarded/X-Forwarded-Host/-Proto — is removed
 * and replaced by the proxy's own, silently; the client's credentials never reach a backend;
 * and nothing a client sends moves publicUrl. Every case checks what the recording backend saw.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { loadSigningKey } from '../../src/propagation/keys.js';
import { META_USER_KEY } from '../../src/propagation/meta.js';
import {
  apiKey,
  portOf,
  rawExchange,
  startRecorder,
  statusCodes,
  verbatim,
  type Recorded,
} from '../helpers/hostile.js';
import { startProxy, TEST_SESSION_KEY, type RunningProxy } from '../helpers/proxy.js';
import { MemoryStore } from '../../src/store/memory.js';
import { grantKey } from '../../src/authz-server/adapter.js';
import { recordSession, sealSessionCookie, sessionUser } from '../helpers/seal-cookie.js';
import { MCP_ACCEPT, mcpSession, readRpc, rpc } from '../helpers/session-client.js';
import { stdioBackend } from '../helpers/stdio-stack.js';
import { DPOP_OFFER } from '../helpers/dpop.js';

const key = await loadSigningKey();
const rec = await startRecorder();
const ALICE = apiKey('alice', 'alice', { email: 'alice@example.com', groups: ['support'], tenant: 'acme' });
const OURS = { sub: 'alice', email: 'alice@example.com', groups: ['support'], tenant: 'acme' };
const FORGED = { sub: 'root', email: 'root@evil.example', groups: ['admin'], tenant: 'evil' };
const SPOOFED: Record<string, string> = {
  'x-forwarded-user': 'root',
  'x-forwarded-email': 'root@evil.example',
  'x-forwarded-groups': 'admin',
  'x-forwarded-tenant': 'evil',
  'x-mcp-proxy-assertion': 'forged.jwt.value',
};
const HOSTILE_ORIGIN = {
  forwarded: 'for=6.6.6.6;host=evil.example;proto=https',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  'x-forwarded-for': '6.6.6.6',
};

const startWith = (trustProxy: boolean) =>
  startProxy(
    {
      server: { trustProxy },
      devIdp: { enabled: true },
      apiKeys: [ALICE.config],
      backends: [
        { name: 'rec', http: { url: rec.url } },
        { name: 'meta', http: { url: rec.url }, identity: { meta: true } },
        { name: 'bare', http: { url: rec.url }, identity: { headers: false, assertion: false } },
        { name: 'svc', http: { url: rec.url, headers: { 'X-Service-Token': 'ours' } } },
        stdioBackend('stdio', 'session'),
        { ...stdioBackend('nometa', 'session'), identity: { meta: false } },
      ],
    },
    { signingKey: key, store: stores[String(trustProxy)] },
  );
const stores: Record<string, MemoryStore> = { false: new MemoryStore(), true: new MemoryStore() };
const proxies: Record<'direct' | 'trusting', RunningProxy> = {
  direct: await startWith(false),
  trusting: await startWith(true),
};
const proxy = proxies.direct;
t.teardown(async () => {
  for (const p of Object.values(proxies)) await p.close();
  await rec.close();
});
const jwks = createLocalJWKSet({ keys: [key.publicJwk] });

/** POSTs `body` and returns the response and what the recorder saw because of it. */
async function send(path: string, headers: Record<string, string>, body = rpc('tools/list'), base = proxy.url) {
  const mark = rec.seen.length;
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body,
  });
  return { res, text: await res.text(), seen: rec.seen.slice(mark) };
}

/** Writes a request byte for byte (header names in any case, duplicates) and returns what the recorder saw. */
async function sendRaw(lines: string[], path = '/mcp/rec') {
  const mark = rec.seen.length;
  const body = rpc('tools/list');
  const port = portOf(proxy.url);
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Content-Type: application/json',
    `Accept: ${MCP_ACCEPT}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...lines,
  ];
  const raw = await rawExchange(port, `${head.join('\r\n')}\r\n\r\n${body}`);
  return { statuses: statusCodes(raw), seen: rec.seen.slice(mark) };
}

/** How many times a header (any case) appears in what the backend received. */
const occurrences = (r: Recorded, name: string) =>
  r.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;

/** Exactly one request reached the backend, carrying our identity once per header and a valid assertion for `sub`. */
async function carriesOurs(
  t: Test,
  seen: Recorded[],
  who: { sub: string; email?: string; groups: string[]; tenant?: string } = OURS,
  aud = 'rec',
) {
  t.equal(seen.length, 1, 'one request reached the backend');
  const r = seen[0]!;
  for (const name of Object.keys(SPOOFED)) t.equal(occurrences(r, name), 1, `${name} appears once`);
  t.equal(r.headers['x-forwarded-user'], who.sub);
  t.equal(r.headers['x-forwarded-email'], who.email ?? '');
  t.equal(r.headers['x-forwarded-groups'], who.groups.join(','));
  t.equal(r.headers['x-forwarded-tenant'], who.tenant ?? '');
  const { payload } = await jwtVerify(String(r.headers['x-mcp-proxy-assertion']), jwks, {
    issuer: proxy.url,
    audience: aud,
  });
  t.equal(payload.sub, who.sub, 'the assertion is ours, about the real caller');
}

t.test('spoofed identity headers in canonical case are replaced by ours', async (t) => {
  const { res, seen } = await send('/mcp/rec', {
    ...ALICE.headers,
    'X-Forwarded-User': 'root',
    'X-Forwarded-Email': 'root@evil.example',
    'X-Forwarded-Groups': 'admin',
    'X-Forwarded-Tenant': 'evil',
    'X-MCP-Proxy-Assertion': 'forged',
  });
  t.equal(res.status, 200, 'silently replaced, never an error');
  await carriesOurs(t, seen);
});

t.test('header name case variants (lower, UPPER, mIxEd) are all replaced', async (t) => {
  const { statuses, seen } = await sendRaw([
    `X-API-Key: ${ALICE.headers['x-api-key']}`,
    'x-forwarded-user: root',
    'X-FORWARDED-EMAIL: root@evil.example',
    'x-FoRwArDeD-gRoUpS: admin',
    'X-forwarded-TENANT: evil',
    'x-mcp-PROXY-assertion: forged',
  ]);
  t.same(statuses, [200]);
  await carriesOurs(t, seen);
});

t.test('duplicated identity headers (the forged copy first and last) leave exactly ours', async (t) => {
  const forged = Object.entries(SPOOFED).flatMap(([k, v]) => [`${k}: ${v}`, `${k.toUpperCase()}: ${v}-again`]);
  const { statuses, seen } = await sendRaw([
    ...forged,
    `X-API-Key: ${ALICE.headers['x-api-key']}`,
    'X-Forwarded-User: alice',
    ...forged,
  ]);
  t.same(statuses, [200]);
  await carriesOurs(t, seen);
});

t.test('comma lists in identity headers are not merged with ours', async (t) => {
  const { res, seen } = await send('/mcp/rec', {
    ...ALICE.headers,
    'x-forwarded-user': 'alice, root',
    'x-forwarded-groups': 'support,admin, root',
    'x-forwarded-email': 'alice@example.com,root@evil.example',
  });
  t.equal(res.status, 200);
  await carriesOurs(t, seen);
  t.notMatch(JSON.stringify(seen[0]!.headers), /root|admin/, 'no forged value anywhere in what the backend saw');
});

t.test('look-alike identity headers (oauth2-proxy style, our prefix, Forwarded, X-Real-IP) are dropped', async (t) => {
  const lookalikes = {
    'x-auth-request-user': 'root',
    'x-auth-request-email': 'root@evil.example',
    'x-auth-request-groups': 'admin',
    'x-forwarded-preferred-username': 'root',
    'x-mcp-proxy-user': 'root',
    forwarded: 'for=6.6.6.6;by=root',
    'x-real-ip': '6.6.6.6',
  };
  const { res, seen } = await send('/mcp/rec', { ...ALICE.headers, ...lookalikes });
  t.equal(res.status, 200);
  await carriesOurs(t, seen);
  for (const name of Object.keys(lookalikes)) t.equal(seen[0]!.headers[name], undefined, `${name} not forwarded`);
});

/** Header names as CGI/WSGI/PHP read them: `X_Forwarded_User` and `x-forwarded-user` are one variable. */
const cgiName = (name: string) => name.toLowerCase().replaceAll('_', '-');

t.test(
  'identity headers spelled with underscores (all, or mixed with dashes) are dropped: CGI-style servers read ' +
    'them as ours',
  async (t) => {
    const { statuses, seen } = await sendRaw([
      `X-API-Key: ${ALICE.headers['x-api-key']}`,
      'X_Forwarded_User: root',
      'X-Forwarded_Email: root@evil.example',
      'x_forwarded-groups: admin',
      'X_FORWARDED_TENANT: evil',
      'X_MCP_Proxy_Assertion: forged',
      'X_Api_Key: someone-elses-key',
      'Proxy_Authorization: Basic cm9vdDpyb290',
      'X_Real_IP: 6.6.6.6',
      'X_Auth_Request_User: root',
      'X_Forwarded_For: 6.6.6.6',
    ]);
    t.same(statuses, [200]);
    await carriesOurs(t, seen);
    const names = seen[0]!.rawHeaders.filter((_, i) => i % 2 === 0);
    t.same(
      names.filter((n) => n.includes('_')),
      [],
      'no underscore spelling reached the backend',
    );
    for (const name of [
      ...Object.keys(SPOOFED),
      'x-forwarded-for',
      'x-api-key',
      'proxy-authorization',
      'x-real-ip',
      'x-auth-request-user',
    ]) {
      t.ok(names.filter((n) => cgiName(n) === name).length <= 1, `at most one ${name} in any spelling`);
    }
    t.notMatch(JSON.stringify(seen[0]!.rawHeaders), /root|6\.6\.6\.6|someone-elses-key|forged/);
  },
);

t.test(
  "a backend's configured headers: the client's copies in any spelling are dropped, ours is sent once",
  async (t) => {
    const { res, seen } = await send('/mcp/svc', {
      ...ALICE.headers,
      'x-service-token': 'forged',
      X_Service_Token: 'forged-too',
      'X-Service_Token': 'forged-three',
    });
    t.equal(res.status, 200);
    const tokens = seen[0]!.rawHeaders.flatMap((v, i) =>
      i % 2 === 0 && cgiName(v) === 'x-service-token' ? [seen[0]!.rawHeaders[i + 1]] : [],
    );
    t.same(tokens, ['ours']);
  },
);

t.test('identity headers turned off: spoofed copies are still removed, none added', async (t) => {
  const { res, seen } = await send('/mcp/bare', { ...ALICE.headers, ...SPOOFED });
  t.equal(res.status, 200);
  t.equal(seen.length, 1);
  for (const name of Object.keys(SPOOFED)) t.equal(seen[0]!.headers[name], undefined, `${name} absent`);
});

/** A tools/call whose `_meta` carries a forged identity next to a progress token the backend must still get. */
const forgedMetaCall = (id = 3) =>
  rpc('tools/call', { name: 'whoami', arguments: {}, _meta: { [META_USER_KEY]: FORGED, progressToken: 'p-1' } }, id);

t.test('HTTP backend with identity.meta: a client-sent _meta identity is replaced by ours', async (t) => {
  const { res, seen } = await send('/mcp/meta', ALICE.headers, forgedMetaCall());
  t.equal(res.status, 200);
  t.equal(seen.length, 1);
  const meta = JSON.parse(seen[0]!.body).params._meta;
  t.same(meta, { [META_USER_KEY]: OURS, progressToken: 'p-1' }, 'ours replaces the forged copy, other _meta keys kept');
});

t.test('HTTP backend without identity.meta: a client-sent _meta identity is removed', async (t) => {
  const { res, seen } = await send(
    '/mcp/rec',
    ALICE.headers,
    `[${forgedMetaCall(4)},${rpc('tools/list', { _meta: { [META_USER_KEY]: FORGED } }, 5)}]`,
  );
  t.equal(res.status, 200);
  t.equal(seen.length, 1);
  const [call, list] = JSON.parse(seen[0]!.body);
  t.same(call.params._meta, { progressToken: 'p-1' }, 'only our key is removed');
  t.notOk('_meta' in list.params, 'an emptied _meta goes away');
  t.notMatch(seen[0]!.body, /root/, 'the forged identity never reached the backend');
});

/** `whoami` on a stdio backend, through a real MCP session, with a forged `_meta` identity. */
async function stdioWhoami(backend: string) {
  const mcp = await mcpSession(`${proxy.url}/mcp/${backend}`, { ...ALICE.headers, ...SPOOFED });
  const res = await mcp.call('tools/call', { name: 'whoami', arguments: {}, _meta: { [META_USER_KEY]: FORGED } });
  const who = (await readRpc(res)).result.structuredContent;
  await fetch(`${proxy.url}/mcp/${backend}`, { method: 'DELETE', headers: mcp.headers });
  return { status: res.status, who };
}

t.test('stdio backend: a client-sent _meta identity is replaced by ours', async (t) => {
  const { status, who } = await stdioWhoami('stdio');
  t.equal(status, 200);
  t.same(who.meta, OURS, 'the stdio server saw our identity, not the forged one');
});

t.test('stdio backend with identity.meta off: a client-sent _meta identity is removed', async (t) => {
  const { status, who } = await stdioWhoami('nometa');
  t.equal(status, 200);
  t.equal(who.meta, null, 'the stdio server saw no identity in _meta at all');
});

t.test('a proxy-issued bearer token and stray cookies are not forwarded', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await stores.false!.set(grantKey('spoof-grant'), { accountId: 'bob' }, 60_000);
  const token = await new SignJWT({
    iss: proxy.url,
    sub: 'bob',
    aud: `${proxy.url}/mcp/rec`,
    iat: now,
    exp: now + 300,
    scope: 'mcp',
    client_id: 'spoof-test',
    jti: randomBytes(8).toString('hex'),
    email: 'bob@example.com',
    groups: ['dev'],
    gid: 'spoof-grant',
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
    .sign(key.privateKey);
  const { res, seen } = await send('/mcp/rec', {
    authorization: `Bearer ${token}`,
    cookie: 'mcp_proxy_session=junk; other=1',
    'proxy-authorization': 'Basic cm9vdDpyb290',
    ...SPOOFED,
  });
  t.equal(res.status, 200);
  await carriesOurs(t, seen, { sub: 'bob', email: 'bob@example.com', groups: ['dev'] });
  for (const name of ['authorization', 'cookie', 'proxy-authorization'])
    t.equal(seen[0]!.headers[name], undefined, `${name} not forwarded`);
  t.notMatch(JSON.stringify(seen[0]!.rawHeaders), token.slice(-20), 'the token appears nowhere');
});

t.test('an API key (with a stray Authorization header) is not forwarded', async (t) => {
  const { res, seen } = await send('/mcp/rec', { ...ALICE.headers, authorization: 'Bearer not-checked-the-key-wins' });
  t.equal(res.status, 200);
  await carriesOurs(t, seen);
  t.equal(seen[0]!.headers['x-api-key'], undefined);
  t.equal(seen[0]!.headers.authorization, undefined);
  t.notMatch(JSON.stringify(seen[0]!.rawHeaders), ALICE.headers['x-api-key']!);
});

t.test('a session cookie is not forwarded, and session identity replaces spoofed headers', async (t) => {
  const carol = sessionUser('carol', { groups: ['ops'] });
  await recordSession(stores.false!, carol);
  const sealed = await sealSessionCookie(TEST_SESSION_KEY, carol);
  const cookie = `mcp_proxy_session=${encodeURIComponent(sealed)}; theme=dark`;
  const { res, seen } = await send('/mcp/rec', { cookie, ...SPOOFED });
  t.equal(res.status, 200);
  await carriesOurs(t, seen, { sub: 'carol', email: 'carol@example.com', groups: ['ops'] });
  t.equal(seen[0]!.headers.cookie, undefined);
});

t.test(
  'anonymous with spoofed identity headers, _meta and X-Forwarded-For: 401, nothing reaches a backend',
  async (t) => {
    const { res, text, seen } = await send('/mcp/meta', { ...SPOOFED, ...HOSTILE_ORIGIN }, forgedMetaCall(9));
    t.equal(res.status, 401);
    t.equal(
      res.headers.get('www-authenticate'),
      `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp/meta", scope="mcp"${DPOP_OFFER}`,
    );
    t.match(JSON.parse(text), { jsonrpc: '2.0', error: { code: -32001, message: 'authentication required' } });
    t.same(seen, [], 'the backend saw nothing');
  },
);

// Forwarded / X-Forwarded-Host / -Proto never move publicUrl, whether or not a proxy in front is trusted.
for (const [label, p] of Object.entries(proxies)) {
  const base = p.url;
  const get = (path: string) => fetch(`${base}${path}`, { headers: HOSTILE_ORIGIN, redirect: 'manual' });

  t.test(
    `${label} (trustProxy ${label === 'trusting'}): hostile forwarding headers do not poison the 401 challenge ` +
      'or the resource metadata',
    async (t) => {
      const { res, seen } = await send('/mcp/rec', HOSTILE_ORIGIN, rpc('tools/list'), base);
      t.equal(res.status, 401);
      t.equal(
        res.headers.get('www-authenticate'),
        `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp/rec", scope="mcp"${DPOP_OFFER}`,
      );
      t.same(seen, [], 'the backend saw nothing');
      const meta = (await (await get('/.well-known/oauth-protected-resource/mcp/rec')).json()) as Record<
        string,
        unknown
      >;
      t.equal(meta.resource, `${base}/mcp/rec`);
      t.same(meta.authorization_servers, [base]);
    },
  );

  t.test(
    `${label} (trustProxy ${label === 'trusting'}): hostile forwarding headers do not poison the authorization ` +
      'server metadata',
    async (t) => {
      // Host: a loopback alias passes the DNS-rebinding check, so it must not move the URLs either.
      // The embedded dev IdP is an oidc-provider too, mounted the same way.
      for (const [path, issuer] of [
        ['/.well-known/oauth-authorization-server', base],
        ['/.well-known/openid-configuration', base],
        ['/_dev/idp/.well-known/openid-configuration', `${base}/_dev/idp`],
      ] as const) {
        const res = await verbatim(portOf(base), 'GET', path, { ...HOSTILE_ORIGIN, host: `localhost:${portOf(base)}` });
        t.equal(res.status, 200, path);
        const doc = JSON.parse(res.body) as Record<string, unknown>;
        t.equal(doc.issuer, issuer, `${path}: issuer`);
        const urls = Object.entries(doc).filter(
          ([k, v]) => typeof v === 'string' && (k.endsWith('_endpoint') || k === 'jwks_uri'),
        );
        t.ok(urls.length >= 4, 'endpoints advertised');
        for (const [k, v] of urls) t.ok(String(v).startsWith(`${issuer}/`), `${path}: ${k} = ${v}`);
      }
    },
  );

  t.test(
    `${label} (trustProxy ${label === 'trusting'}): hostile forwarding headers do not poison the login redirect`,
    async (t) => {
      const res = await get('/oauth/login?returnTo=%2F');
      t.equal(res.status, 302);
      const location = new URL(res.headers.get('location')!, base);
      t.equal(location.origin, base, 'the browser stays on (or is sent back to) publicUrl');
      // Trusted, X-Forwarded-Host names another host than publicUrl's: the login restarts on publicUrl.
      if (label === 'trusting')
        t.equal(location.href, `${base}/oauth/login?returnTo=%2F`, 'bounced to publicUrl to start again');
      else
        t.equal(
          location.searchParams.get('redirect_uri'),
          `${base}/oauth/callback`,
          'redirect_uri is publicUrl/oauth/callback',
        );
    },
  );

  t.test(
    `${label} (trustProxy ${label === 'trusting'}): the backend is told publicUrl's host and scheme, not the client's`,
    async (t) => {
      const { res, seen } = await send('/mcp/rec', { ...ALICE.headers, ...HOSTILE_ORIGIN }, rpc('tools/list'), base);
      t.equal(res.status, 200);
      t.equal(seen.length, 1);
      const h = seen[0]!.headers;
      t.equal(h['x-forwarded-host'], new URL(base).host);
      t.equal(h['x-forwarded-proto'], 'http');
      t.equal(h.forwarded, undefined);
      t.equal(h['x-forwarded-port'], undefined);
      t.equal(occurrences(seen[0]!, 'x-forwarded-host'), 1);
      // Only a trusted proxy in front may name the client's address.
      t.equal(h['x-forwarded-for'], label === 'trusting' ? '6.6.6.6' : '127.0.0.1');
    },
  );
}
