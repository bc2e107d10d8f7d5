// A principal is (source, sub): an `alice` from an API key or from another issuer is not the
// login's alice — not for policy, MCP session ownership, per-user processes or rate limits.
// And an MCP session id is bound to the backend that issued it: two backends with one upstream
// URL do not share sessions, and an id nobody issued is refused before the backend hears of it.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { apiKey, startRecorder } from '../helpers/hostile.js';
import { countingHttpServer } from '../helpers/hostile-tokens.js';
import { loginThroughProxy, mcpSession, rpc, MCP_ACCEPT } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { stdioBackend, whoami, connect } from '../helpers/stdio-stack.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const rec = await startRecorder();
const ext = await generateKeyPair('RS256');
const extJwk = { ...(await exportJWK(ext.publicKey)), kid: 'ext-1', alg: 'RS256', use: 'sig' };
const jwks = await countingHttpServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [extJwk] })),
);
const EXT = `${jwks.url}/issuer`;
const SAME = `${jwks.url}/same-users`;
const key = apiKey('alice-key', 'alice');
const bobKey = apiKey('bob-key', 'bob');
const audit = new PassThrough();
const auditLines: any[] = [];
audit.on('data', (c: Buffer) =>
  auditLines.push(
    ...c
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  ),
);

const stack = await startStack({
  consent: false,
  deps: { auditStream: audit },
  backends: () => [
    { name: 'echo', http: { url: rec.url } },
    { name: 'plain', http: { url: rec.url } },
    { name: 'alice-only', http: { url: rec.url }, allow: { subjects: ['alice'] } },
    { name: 'by-source', http: { url: rec.url }, allow: { subjects: ['apikey:alice-key', `${EXT}#alice`] } },
    { name: 'limited', http: { url: rec.url }, rateLimit: { max: 2, window: '1m' } },
    stdioBackend('peruser', 'user'),
  ],
  proxy: {
    apiKeys: [key.config, bobKey.config],
    externalTokens: {
      jwt: [
        { issuer: EXT, audience: ['mcp-proxy'], jwksUri: `${jwks.url}/jwks` },
        { issuer: SAME, audience: ['mcp-proxy'], jwksUri: `${jwks.url}/jwks`, sameUsers: true },
      ],
    },
  },
});
t.teardown(async () => {
  await stack.close();
  await rec.close();
  await jwks.close();
});
const { proxy } = stack;
const url = (b: string) => `${proxy.url}/mcp/${b}`;
const login = await loginThroughProxy(proxy.url, 'alice');
const extToken = (iss: string, sub = 'alice') =>
  new SignJWT({ scope: 'mcp' })
    .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
    .setIssuer(iss)
    .setAudience('mcp-proxy')
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(ext.privateKey);
const as = {
  login: { cookie: login.cookie },
  apikey: key.headers,
  external: { authorization: `Bearer ${await extToken(EXT)}` },
  sameUsers: { authorization: `Bearer ${await extToken(SAME)}` },
  bob: bobKey.headers,
};
type Who = keyof typeof as;
const initialize = (b: string, who: Who) =>
  fetch(url(b), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...as[who] },
    body: rpc('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 't', version: '1' },
    }),
  });

t.test('allow.subjects: a bare sub admits only the login (and issuers configured as its users)', async (t) => {
  const statuses = Object.fromEntries(
    await Promise.all((Object.keys(as) as Who[]).map(async (w) => [w, (await initialize('alice-only', w)).status])),
  );
  t.same(statuses, { login: 200, apikey: 403, external: 403, sameUsers: 200, bob: 403 });
});

t.test('allow.subjects: other sources are named apikey:<name> and <issuer>#<sub>', async (t) => {
  const statuses = Object.fromEntries(
    await Promise.all((Object.keys(as) as Who[]).map(async (w) => [w, (await initialize('by-source', w)).status])),
  );
  t.same(statuses, { login: 403, apikey: 200, external: 200, sameUsers: 403, bob: 403 });
});

t.test(
  "an MCP session of the login's alice is refused to every other alice (404, backend hears nothing)",
  async (t) => {
    const own = await mcpSession(url('echo'), as.login);
    for (const who of ['apikey', 'external', 'bob'] as const) {
      const seen = rec.seen.length;
      const headers = { ...own.headers, cookie: '', ...as[who] };
      const answers = await Promise.all([
        fetch(url('echo'), { method: 'POST', headers, body: rpc('ping') }),
        fetch(url('echo'), { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } }),
        fetch(url('echo'), { method: 'DELETE', headers }),
      ]);
      t.same(
        answers.map((r) => r.status),
        [404, 404, 404],
        `${who}: POST, GET and DELETE are 404`,
      );
      t.equal(rec.seen.length, seen, `${who}: the backend heard nothing`);
    }
    t.equal((await own.call('ping')).status, 200, 'alice still has her session');
    t.ok(
      auditLines.some((l) => l.audit && l.principal?.id === `${EXT}#alice` && l.principal.sub === 'alice'),
      'audit lines name the principal by source',
    );
  },
);

t.test('a session id is bound to the backend that issued it, even when two backends share an upstream', async (t) => {
  const own = await mcpSession(url('echo'), as.login);
  const upstreamIds = rec.seen.filter((r) => r.body.includes('"initialize"')).length;
  t.notMatch(own.sessionId, /^rec-session-/, 'the client sees a sealed id, not the upstream one');
  const seen = rec.seen.length;
  for (const who of ['bob', 'login'] as const) {
    const headers = { ...own.headers, cookie: '', ...as[who] };
    const answers = await Promise.all([
      fetch(url('plain'), { method: 'POST', headers, body: rpc('ping') }),
      fetch(url('plain'), { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } }),
      fetch(url('plain'), { method: 'DELETE', headers }),
    ]);
    t.same(
      answers.map((r) => r.status),
      [404, 404, 404],
      `${who} presenting it at /mcp/plain: 404`,
    );
  }
  t.equal(rec.seen.length, seen, 'the shared upstream heard nothing');
  t.equal((await own.call('ping')).status, 200, "alice's session on echo is intact");
  t.equal(rec.seen.at(-1)!.headers['mcp-session-id'], `rec-session-${upstreamIds}`, 'the backend receives its own id');
});

t.test('an id nobody issued fails closed: 404 and the backend hears nothing', async (t) => {
  const seen = rec.seen.length;
  for (const id of ['rec-session-1', 'v1.AAAA', 'x'.repeat(300)]) {
    const r = await fetch(url('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-session-id': id, ...as.login },
      body: rpc('ping'),
    });
    t.equal(r.status, 404, `${id.slice(0, 20)}: 404`);
  }
  t.equal(rec.seen.length, seen);
});

t.test('isolation: user — an API key with subject alice does not share the login alice’s process', async (t) => {
  const viaLogin = await connect(url('peruser'), login.cookie);
  const viaKey = new Client({ name: 'key', version: '1' });
  await viaKey.connect(
    new StreamableHTTPClientTransport(new URL(url('peruser')), { requestInit: { headers: key.headers } }),
  );
  t.teardown(() => Promise.all([viaLogin.client.close(), viaKey.close()]));
  const [a, b] = [await whoami(viaLogin.client), await whoami(viaKey)];
  t.equal(a.meta.sub, 'alice');
  t.equal(b.meta.sub, 'alice', 'backends still see the bare sub');
  t.not(a.pid, b.pid, 'two processes');
});

t.test('rate limits count each source separately', async (t) => {
  const statuses = async (who: Who) => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push((await initialize('limited', who)).status);
    return out;
  };
  t.same(await statuses('external'), [200, 200, 429], "the other issuer's alice runs out");
  t.same(await statuses('login'), [200, 200, 429], "the login's alice has a budget of her own");
});
