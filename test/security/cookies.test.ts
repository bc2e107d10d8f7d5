/**
 * Hostile session cookies: tampered, truncated, foreign-key, expired, idle, replayed after
 * logout, oversized, duplicated, renamed, empty, garbage. None of them is a session:
 * `/oauth/status` says `{authenticated: false}`, `/mcp/rec` answers 401 with the Bearer
 * challenge, the recording backend sees nothing, and no answer is a 5xx. Real IdP, real login.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { startRecorder } from '../helpers/hostile.js';
import { OTHER_SESSION_KEY, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { MemoryStore } from '../../src/store/memory.js';
import { recordSession, sealSessionCookie, sessionUser } from '../helpers/seal-cookie.js';
import { loginThroughProxy, MCP_ACCEPT, rpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { DPOP_OFFER } from '../helpers/dpop.js';

const rec = await startRecorder();
const store = new MemoryStore();
const stack = await startStack({
  consent: false,
  backends: () => [{ name: 'rec', http: { url: rec.url } }],
  deps: { store },
});
const { proxy } = stack;
t.teardown(async () => {
  await stack.close();
  await rec.close();
});

const NAME = 'mcp_proxy_session';
const HOUR = 3600_000;
/**
 * A session cookie header for a sealed value (secure-session's `cipher;nonce`, percent-encoded as the proxy sets it).
 */
const asCookie = (sealed: string, name = NAME) => `${name}=${encodeURIComponent(sealed)}`;
const seal = (sub: string, extra: Record<string, unknown> = {}, key = TEST_SESSION_KEY) =>
  sealSessionCookie(key, sessionUser(sub, extra));
const genuine = sessionUser('alice', { groups: ['support'], sid: 'sid-alice-genuine' });
const valid = await sealSessionCookie(TEST_SESSION_KEY, genuine);
const forged = await seal('mallory', { groups: ['admin'] }, OTHER_SESSION_KEY);

/** `sealed` with one byte of its ciphertext (part 0) or nonce (part 1) flipped. */
function flipped(sealed: string, part: 0 | 1): string {
  const parts = sealed.split(';');
  const bytes = Buffer.from(parts[part]!, 'base64');
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  parts[part] = bytes.toString('base64');
  return parts.join(';');
}

const status = async (cookie: string) => {
  const res = await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } });
  return {
    status: res.status,
    body: (await res.json()) as { authenticated: boolean; user?: { sub: string }; csrfToken?: string },
    setCookie: res.headers.getSetCookie(),
  };
};
const mcp = async (cookie: string) => {
  const mark = rec.seen.length;
  const res = await fetch(`${proxy.url}/mcp/rec`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: rpc('tools/list'),
  });
  return { res, body: await res.text(), seen: rec.seen.slice(mark) };
};

/** Not a session anywhere: status logged out, MCP 401 with the challenge, the backend untouched. */
async function noSession(t: Test, cookie: string) {
  const s = await status(cookie);
  t.equal(s.status, 200, '/oauth/status answers 200');
  t.same(s.body, { authenticated: false }, '/oauth/status: logged out');
  const { res, body, seen } = await mcp(cookie);
  t.equal(res.status, 401, '/mcp/rec: 401');
  t.equal(
    res.headers.get('www-authenticate'),
    `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp/rec", scope="mcp"${DPOP_OFFER}`,
  );
  t.match(JSON.parse(body), { jsonrpc: '2.0', error: { code: -32001, message: 'authentication required' } });
  t.same(seen, [], 'the backend saw nothing');
  return s;
}

/** Authenticated as `sub` (never anyone else): status says so and the backend is told exactly that identity. */
async function sessionOf(t: Test, cookie: string, sub: string) {
  const s = await status(cookie);
  t.equal(s.body.authenticated, true, 'authenticated');
  t.equal(s.body.user?.sub, sub, `as ${sub}`);
  const { res, seen } = await mcp(cookie);
  t.equal(res.status, 200);
  t.equal(seen.length, 1, 'one request reached the backend');
  t.equal(seen[0]?.headers['x-forwarded-user'], sub, `the backend was told ${sub}`);
  t.equal(seen[0]?.headers.cookie, undefined, 'and never got the cookie');
}

t.test(
  'control: a cookie sealed with the proxy key, with its server-side record, is a session (so every refusal ' +
    'below can fail)',
  async (t) => {
    await recordSession(store, genuine);
    await sessionOf(t, asCookie(valid), 'alice');
  },
);

t.test('a cookie sealed with the proxy key but without a server-side record is no session', async (t) => {
  await noSession(t, asCookie(await seal('nobody')));
});

const now = Date.now();
const REFUSED: Array<[string, () => Promise<string> | string]> = [
  ['one byte flipped in the ciphertext', () => asCookie(flipped(valid, 0))],
  ['one byte flipped in the nonce', () => asCookie(flipped(valid, 1))],
  ['truncated by 8 characters', () => asCookie(valid.slice(0, -8))],
  ['the nonce cut off (no ";")', () => asCookie(valid.split(';')[0]!)],
  ['only the nonce, ciphertext removed', () => asCookie(`;${valid.split(';')[1]}`)],
  ['sealed with another key', () => asCookie(forged)],
  [
    'right key, absolute expiry (exp) in the past',
    () => seal('alice', { iat: now - 9 * HOUR, seen: now - 60_000, exp: now - 1000 }).then((c) => asCookie(c)),
  ],
  [
    'right key, idle longer than idleTimeout (seen 2 h ago)',
    () => seal('alice', { seen: now - 2 * HOUR, exp: now + HOUR }).then((c) => asCookie(c)),
  ],
  ['right key, a user without a sub', () => sealSessionCookie(TEST_SESSION_KEY, {}).then((c) => asCookie(c))],
  ['empty value', () => `${NAME}=`],
  [
    'garbage: base64 of random bytes in the cipher;nonce shape',
    () => asCookie(`${randomBytes(96).toString('base64')};${randomBytes(24).toString('base64')}`),
  ],
  ['garbage: not base64, malformed percent-escapes', () => `${NAME}=%E0%A4%A;;;!!@@%%`],
  ['the cookie name in upper case', () => asCookie(valid, NAME.toUpperCase())],
  ['the cookie name with a prefix (__Host-)', () => asCookie(valid, `__Host-${NAME}`)],
];

for (const [label, make] of REFUSED) {
  t.test(`no session: ${label}`, async (t) => {
    await noSession(t, await make());
  });
}

t.test('an expired or idle cookie is also cleared, not just ignored', async (t) => {
  for (const extra of [{ exp: now - 1000 }, { seen: now - 2 * HOUR }]) {
    const s = await noSession(t, asCookie(await seal('alice', extra)));
    t.ok(
      s.setCookie.some((c) => c.startsWith(`${NAME}=;`) && /Max-Age=0|Expires=Thu, 01 Jan 1970/.test(c)),
      `cleared (${Object.keys(extra)[0]})`,
    );
  }
});

t.test('the login-transaction cookie, renamed to the session cookie, is no session', async (t) => {
  const start = await fetch(`${proxy.url}/oauth/login`, { redirect: 'manual' });
  t.equal(start.status, 302);
  const tx = start.headers.getSetCookie().find((c) => c.startsWith(`${NAME}_tx=`))!;
  t.ok(tx, 'a tx cookie, sealed with the same key');
  await noSession(t, `${NAME}=${tx.slice(`${NAME}_tx=`.length).split(';')[0]}`);
});

t.test('a real session cookie replayed after logout is refused', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  await sessionOf(t, cookie, 'alice');
  const { body } = await status(cookie);
  const out = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    headers: {
      cookie,
      origin: proxy.url,
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `csrf=${encodeURIComponent(body.csrfToken!)}`,
  });
  t.equal(out.status, 200);
  t.match(await out.json(), { loggedOut: true });
  t.ok(
    out.headers.getSetCookie().some((c) => c.startsWith(`${NAME}=;`)),
    'the browser is told to drop it',
  );
  await noSession(t, cookie);
});

/**
 * A request with a huge Cookie header: `431` from the HTTP parser (or the connection cut), never a 5xx nor the backend.
 */
async function oversized(t: Test, bytes: number) {
  const mark = rec.seen.length;
  const cookie = `${asCookie(valid)}; pad=${'a'.repeat(bytes)}`;
  for (const path of ['/oauth/status', '/mcp/rec']) {
    const res = await fetch(`${proxy.url}${path}`, {
      method: path === '/mcp/rec' ? 'POST' : 'GET',
      headers: { cookie, 'content-type': 'application/json', accept: MCP_ACCEPT },
      body: path === '/mcp/rec' ? rpc('tools/list') : undefined,
    }).catch((e: Error) => e);
    t.equal(res instanceof Response ? res.status : 'closed', 431, `${path}: Request Header Fields Too Large`);
  }
  t.same(rec.seen.slice(mark), [], 'the backend saw nothing');
  t.equal((await fetch(`${proxy.url}/healthz`)).status, 200, 'the proxy keeps serving');
}

t.test('a 16 KiB Cookie header is cut off with 431', (t) => oversized(t, 16 * 1024));
t.test('a 64 KiB Cookie header is cut off with 431', (t) => oversized(t, 64 * 1024));

t.test('duplicated session cookie, the genuine one first: the forged copy never wins', async (t) => {
  await sessionOf(t, `${asCookie(valid)}; ${asCookie(forged)}`, 'alice');
});

t.test('duplicated session cookie, the forged one first: no session at all, never the forged identity', async (t) => {
  await noSession(t, `${asCookie(forged)}; ${asCookie(valid)}`);
});

t.test('the forged and genuine cookies in two separate Cookie headers: joined in order, no session', async (t) => {
  const { request } = await import('undici');
  const mark = rec.seen.length;
  const res = await request(`${proxy.url}/oauth/status`, {
    headers: ['cookie', asCookie(forged), 'cookie', asCookie(valid)],
  });
  t.equal(res.statusCode, 200);
  t.same(await res.body.json(), { authenticated: false }, 'never the forged identity');
  t.same(rec.seen.slice(mark), [], 'the backend saw nothing');
});
