// The demo backends (examples/) driven by the real SDK client: they are the
// backends every proxy test relies on, so what whoami reports must be exact.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import t, { type Test } from 'tap';

// The examples are plain .mjs without type declarations: import by URL, typed here.
interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  sessionId: string | null;
  body?: unknown;
}
interface DemoHttpServer {
  url: string;
  close(): Promise<void>;
  seen: SeenRequest[];
}
interface DemoHttpOptions {
  host?: string;
  port?: number;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}
interface HttpIdentity {
  transport: 'http';
  user: string | null;
  email: string | null;
  groups: string[];
  tenant: string | null;
  assertion: { present: boolean; valid: boolean; claims?: Record<string, unknown>; error?: string };
  leakedAuthorization: boolean;
  leakedCookie: boolean;
  meta: unknown;
  sessionId: string | null;
}
interface StdioIdentity {
  transport: 'stdio';
  meta: unknown;
  env: Record<string, string | null>;
  pid: number;
}

const examples = new URL('../../examples/', import.meta.url);
const httpModule = (await import(new URL('demo-http-server.mjs', examples).href)) as {
  startDemoHttpServer(options?: DemoHttpOptions): Promise<DemoHttpServer>;
};
const stdioServerPath = new URL('demo-stdio-server.mjs', examples).pathname;
const META_USER_KEY = 'io.mcp-oidc-proxy/user';
const ISSUER = 'http://127.0.0.1:1/test-proxy';
const AUDIENCE = 'demo';

async function startDemo(t: Test, options?: DemoHttpOptions): Promise<DemoHttpServer> {
  const demo = await httpModule.startDemoHttpServer(options);
  t.teardown(() => demo.close());
  return demo;
}

async function connectHttp(t: Test, url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: 'demo-servers-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  t.teardown(() => client.close());
  return { client, transport };
}

async function whoami<T>(t: Test, client: Client, meta?: Record<string, unknown>): Promise<T> {
  const result = await client.callTool({ name: 'whoami', arguments: {}, ...(meta ? { _meta: meta } : {}) });
  const content = result.content as Array<{ type: string; text: string }>;
  const fromText = JSON.parse(content[0]!.text) as T;
  // structuredContent carries the same object as the text content
  t.same(result.structuredContent, fromText, 'structuredContent matches text content');
  return fromText;
}

async function startJwksServer(t: Test, publicKey: CryptoKey): Promise<string> {
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
}

function signAssertion(privateKey: CryptoKey, claims: Record<string, unknown>) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(privateKey);
}

t.test('http whoami reports no identity when none is sent', async (t) => {
  const demo = await startDemo(t);
  const { client } = await connectHttp(t, demo.url);
  const id = await whoami<HttpIdentity>(t, client);
  t.equal(id.transport, 'http');
  t.equal(id.user, null);
  t.equal(id.email, null);
  t.same(id.groups, []);
  t.equal(id.tenant, null);
  t.equal(id.meta, null);
  t.match(id.assertion, { present: false, valid: false });
  t.equal(id.leakedAuthorization, false);
  t.equal(id.leakedCookie, false);
});

t.test('http whoami reports forwarded headers, _meta and leaked credentials', async (t) => {
  const demo = await startDemo(t);
  const { client, transport } = await connectHttp(t, demo.url, {
    'X-Forwarded-User': 'alice',
    'X-Forwarded-Email': 'alice@example.com',
    'X-Forwarded-Groups': 'admin, support',
    'X-Forwarded-Tenant': 'acme',
    Authorization: 'Bearer leaked',
    Cookie: 'mcp_proxy_session=leaked',
  });
  const user = { sub: 'alice', email: 'alice@example.com', groups: ['admin'] };
  const id = await whoami<HttpIdentity>(t, client, { [META_USER_KEY]: user });
  t.equal(id.user, 'alice');
  t.equal(id.email, 'alice@example.com');
  t.same(id.groups, ['admin', 'support']);
  t.equal(id.tenant, 'acme');
  t.same(id.meta, user);
  t.equal(id.leakedAuthorization, true);
  t.equal(id.leakedCookie, true);
  t.equal(id.sessionId, transport.sessionId);
  t.ok(demo.seen.length >= 2, 'requests recorded');
  t.ok(
    demo.seen.every((r) => r.headers['x-forwarded-user'] === 'alice'),
    'seen holds each request headers',
  );
});

t.test('http whoami verifies the signed assertion against the JWKS', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwksUrl = await startJwksServer(t, publicKey);
  const demo = await startDemo(t, { jwksUrl, issuer: ISSUER, audience: AUDIENCE });
  const claims = { email: 'alice@example.com', groups: ['admin'], tenant: 'acme' };

  const good = await connectHttp(t, demo.url, { 'X-MCP-Proxy-Assertion': await signAssertion(privateKey, claims) });
  const ok = await whoami<HttpIdentity>(t, good.client);
  t.equal(ok.assertion.valid, true, ok.assertion.error ?? 'valid');
  t.match(ok.assertion.claims, { iss: ISSUER, aud: AUDIENCE, sub: 'alice', ...claims });

  const other = await generateKeyPair('ES256');
  const forged = await connectHttp(t, demo.url, {
    'X-MCP-Proxy-Assertion': await signAssertion(other.privateKey, claims),
  });
  const bad = await whoami<HttpIdentity>(t, forged.client);
  t.match(bad.assertion, { present: true, valid: false, error: /signature/i });
  t.notOk(bad.assertion.claims, 'no claims from an unverified token');
});

t.test('http slow_count streams progress before the result', async (t) => {
  const demo = await startDemo(t);
  const { client } = await connectHttp(t, demo.url);
  const events: Array<{ kind: string; at: number }> = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, () => {
    events.push({ kind: 'log', at: Date.now() });
  });
  const n = 3;
  const delayMs = 200;
  const result = await client.callTool({ name: 'slow_count', arguments: { n, delayMs } }, undefined, {
    onprogress: () => events.push({ kind: 'progress', at: Date.now() }),
  });
  const resultAt = Date.now();
  t.same(result.content, [{ type: 'text', text: `counted to ${n}` }]);
  t.equal(events.filter((e) => e.kind === 'progress').length, n, 'one progress per step');
  t.equal(events.filter((e) => e.kind === 'log').length, n, 'one log message per step');
  // Unbuffered: the first notification arrived while the tool was still counting.
  t.ok(resultAt - events[0]!.at >= delayMs, 'first notification precedes the result by at least one step');
});

t.test('http session lifecycle: DELETE ends the session, unknown ids get 404', async (t) => {
  const demo = await startDemo(t);
  const { client, transport } = await connectHttp(t, demo.url);
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  t.same(echo.content, [{ type: 'text', text: 'hi' }]);
  const del = await client.callTool({ name: 'delete_everything', arguments: {} });
  t.same(del.content, [{ type: 'text', text: 'nothing deleted (demo)' }]);
  const sessionId = transport.sessionId!;
  await transport.terminateSession();
  t.ok(
    demo.seen.some((r) => r.method === 'DELETE' && r.sessionId === sessionId),
    'DELETE reached the server',
  );

  const res = await fetch(demo.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(res.status, 404, 'terminated session is gone');
});

t.test('http resource and prompt', async (t) => {
  const demo = await startDemo(t);
  const { client } = await connectHttp(t, demo.url);
  const { resources } = await client.listResources();
  t.same(
    resources.map((r) => r.uri),
    ['demo://readme'],
  );
  const read = await client.readResource({ uri: 'demo://readme' });
  t.match(read.contents[0], { uri: 'demo://readme', text: /Demo MCP server/ });
  const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Bob' } });
  t.match(prompt.messages[0], { role: 'user', content: { type: 'text', text: /Bob/ } });
});

t.test('stdio whoami reports env vars, _meta and pid', async (t) => {
  const client = new Client({ name: 'demo-servers-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [stdioServerPath],
    env: {
      MCP_PROXY_USER_SUB: 'alice',
      MCP_PROXY_USER_EMAIL: 'alice@example.com',
      MCP_PROXY_USER_GROUPS: 'admin,support',
    },
    stderr: 'inherit',
  });
  await client.connect(transport);
  t.teardown(() => client.close());

  const user = { sub: 'alice', email: 'alice@example.com', groups: ['admin', 'support'] };
  const id = await whoami<StdioIdentity>(t, client, { [META_USER_KEY]: user });
  t.equal(id.transport, 'stdio');
  t.same(id.env, {
    MCP_PROXY_USER_SUB: 'alice',
    MCP_PROXY_USER_EMAIL: 'alice@example.com',
    MCP_PROXY_USER_GROUPS: 'admin,support',
  });
  t.same(id.meta, user);
  t.equal(id.pid, transport.pid, 'pid is the child process');

  const { tools } = await client.listTools();
  t.same(tools.map((tool) => tool.name).sort(), [
    'ask_client',
    'crash',
    'delete_everything',
    'echo',
    'slow_count',
    'whoami',
  ]);
  const progress: number[] = [];
  const counted = await client.callTool({ name: 'slow_count', arguments: { n: 2, delayMs: 50 } }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  t.same(progress, [1, 2]);
  t.same(counted.content, [{ type: 'text', text: 'counted to 2' }]);
});
