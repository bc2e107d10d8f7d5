// Other credentials at the MCP endpoint: API keys (Bearer or X-API-Key) and JWTs from an
// external issuer (one multi-audience token for several MCP servers).
import t from 'tap';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { startProxy } from '../helpers/proxy.js';
import { mcpSession, readRpc } from '../helpers/session-client.js';

const KEY = 'mcp_test_key_0123456789abcdef';
const { publicKey, privateKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'ext-1', alg: 'RS256', use: 'sig' };
const jwksServer = createServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
);
await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;
const ISSUER = 'http://127.0.0.1:1/external-idp';

const backend = await startDemoHttpServer();
const proxy = await startProxy({
  apiKeys: [{ name: 'ci-bot', sha256: hashApiKey(KEY), subject: 'svc:ci', scopes: ['read'], groups: ['bots'] }],
  externalTokens: { jwt: [{ issuer: ISSUER, audience: ['http://127.0.0.1:9000', 'tickets'], jwksUri }] },
  backends: [{ name: 'demo', http: { url: backend.url } }],
});
t.teardown(async () => {
  await proxy.close();
  await backend.close();
  jwksServer.close();
});

const whoami = async (headers: Record<string, string>) => {
  const mcp = await mcpSession(`${proxy.url}/mcp/demo`, headers);
  return (await readRpc(await mcp.call('tools/call', { name: 'whoami', arguments: {} }))).result.structuredContent;
};

t.test('an API key as Bearer or X-API-Key; the key never reaches the backend', async (t) => {
  const a = await whoami({ authorization: `Bearer ${KEY}` });
  t.equal(a.user, 'svc:ci');
  t.same(a.groups, ['bots']);
  t.equal(a.leakedAuthorization, false);
  const b = await whoami({ 'x-api-key': KEY });
  t.equal(b.user, 'svc:ci');
  t.notOk(
    backend.seen.some((s) => JSON.stringify(s.headers).includes(KEY)),
    'the key is in no backend request',
  );
  t.notOk(JSON.stringify(proxy.logs()).includes(KEY), 'nor in the logs');
});

t.test('a wrong API key is 401 invalid_token', async (t) => {
  const attempts: Array<Record<string, string>> = [
    { authorization: 'Bearer mcp_test_key_wrong' },
    { 'x-api-key': 'nope' },
  ];
  for (const headers of attempts) {
    const res = await fetch(`${proxy.url}/mcp/demo`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  }
});

t.test('an external multi-audience JWT is accepted; wrong audience or expired is not', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ email: 'carol@example.com', groups: ['support'], scope: 'read write', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
      .setIssuer(ISSUER)
      .setSubject('carol')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
  const good = await sign({ aud: ['http://127.0.0.1:9001', 'tickets'] });
  const who = await whoami({ authorization: `Bearer ${good}` });
  t.equal(who.user, 'carol');
  t.same(who.groups, ['support']);
  t.equal(who.email, 'carol@example.com');
  const wrongAud = await sign({ aud: 'someone-else' });
  const expired = await new SignJWT({ aud: 'tickets' })
    .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
    .setIssuer(ISSUER)
    .setSubject('carol')
    .setIssuedAt(now - 600)
    .setExpirationTime(now - 300)
    .sign(privateKey);
  for (const [label, token] of [
    ['wrong audience', wrongAud],
    ['expired', expired],
  ]) {
    const res = await fetch(`${proxy.url}/mcp/demo`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{}',
    });
    t.equal(res.status, 401, label!);
  }
});

t.test('without an authorization server, the resource metadata lists none', async (t) => {
  const prm = (await (await fetch(`${proxy.url}/.well-known/oauth-protected-resource/mcp/demo`)).json()) as any;
  t.equal(prm.resource, `${proxy.url}/mcp/demo`);
  t.same(prm.authorization_servers, []);
});
