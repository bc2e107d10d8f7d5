/**
 * Client certificates as principals (DESIGN.md §13), through the real HTTPS listener with curl
 * and undici: a listed certificate is the principal the backend is told about; an unlisted one
 * from the trusted CA is not (401); `require` refuses a handshake without a certificate;
 * `optional` lets other sources (an API key) authenticate.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { TestCa } from '../helpers/cert-authority.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const run = promisify(execFile);
const ca = new TestCa();
const stranger = new TestCa('Stranger CA');
const server = ca.server();
const batch = ca.client('batch');
const unlisted = ca.client('unlisted');
const foreign = stranger.client('batch');
const KEY = 'ci-key-0123456789';

const backend = await startDemoHttpServer();
t.teardown(() => backend.close());

async function proxyWith(
  clientAuth: 'optional' | 'require',
  allow?: unknown,
  files: { cert: string; key: string } = server,
  clientCa: string | string[] = ca.cert,
): Promise<RunningProxy> {
  const proxy = await startProxy({
    server: { tls: { cert: files.cert, key: files.key, clientCa, clientAuth } },
    // Colons and capitals, as `openssl x509 -fingerprint -sha256` prints it.
    clientCertificates: [{ name: 'batch', sha256: batch.fingerprint, subject: 'svc:batch', groups: ['bots'] }],
    apiKeys: [{ name: 'ci', sha256: hashApiKey(KEY), subject: 'svc:ci' }],
    backends: [{ name: 'demo', http: { url: backend.url }, ...(allow ? { allow } : {}) }],
  });
  t.teardown(() => proxy.close());
  return proxy;
}

const curl = (url: string, cert: { cert: string; key: string } | undefined, ...args: string[]) =>
  run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--cacert',
    ca.cert,
    ...(cert ? ['--cert', cert.cert, '--key', cert.key] : []),
    ...args,
    url,
  ]).then(
    (r) => ({ status: Number(r.stdout), code: 0 }),
    (e: { code: number; stderr: string }) => ({ status: 0, code: e.code, stderr: e.stderr }),
  );

const agentWith = (cert?: { pem: () => Buffer; keyPem: () => Buffer }) =>
  new Agent({ connect: { ca: ca.pem(), ...(cert ? { cert: cert.pem(), key: cert.keyPem() } : {}) } });

/** The SDK client over undici with that certificate: whoami's view of the headers the backend got. */
async function whoami(url: string, agent: Agent, headers: Record<string, string> = {}) {
  const fetchVia = ((u: string | URL, init?: RequestInit) =>
    undiciFetch(u, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp/demo`), {
    fetch: fetchVia,
    requestInit: { headers },
  });
  const client = new Client({ name: 'cert-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse((r.content as Array<{ text: string }>)[0]!.text) as { user: string; groups: string[] };
  } finally {
    await client.close();
  }
}

t.test('optional: a listed certificate is the principal; unlisted and foreign ones are not', async (t) => {
  const proxy = await proxyWith('optional');
  t.match(proxy.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'publicUrl defaults to https with server.tls');

  const agent = agentWith(batch);
  t.teardown(() => agent.close());
  const me = await whoami(proxy.url, agent);
  t.equal(me.user, 'svc:batch', 'the backend is told the certificate subject');
  t.same(me.groups, ['bots']);
  const seen = backend.seen.at(-1)!.headers as Record<string, string>;
  t.equal(seen['x-forwarded-user'], 'svc:batch');
  t.equal(seen['x-forwarded-groups'], 'bots');
  t.ok(seen['x-mcp-proxy-assertion'], 'with the signed assertion');
  const [, payload] = seen['x-mcp-proxy-assertion']!.split('.');
  t.equal(JSON.parse(Buffer.from(payload!, 'base64url').toString()).src, 'clientCertificate');

  t.equal((await curl(`${proxy.url}/oauth/status`, batch)).status, 200);
  const status = await request(`${proxy.url}/oauth/status`, { dispatcher: agent });
  t.match(await status.body.json(), { authenticated: true, user: { sub: 'svc:batch' }, source: 'clientCertificate' });
  t.equal((await curl(`${proxy.url}/api/backends`, batch)).status, 200, 'curl with the listed certificate');
  t.equal((await curl(`${proxy.url}/api/backends`, unlisted)).status, 401, 'an unlisted certificate of the CA: 401');
  t.equal((await curl(`${proxy.url}/api/backends`, foreign)).status, 401, "another CA's certificate: 401");
  t.equal((await curl(`${proxy.url}/api/backends`, undefined)).status, 401, 'no certificate, no key: 401');
  t.equal(
    (await curl(`${proxy.url}/api/backends`, undefined, '-H', `x-api-key: ${KEY}`)).status,
    200,
    'no certificate: other sources still authenticate',
  );
  t.equal(
    (await curl(`${proxy.url}/api/backends`, unlisted, '-H', `x-api-key: ${KEY}`)).status,
    200,
    'an unlisted certificate falls through to the API key',
  );
  const unlistedAgent = agentWith(unlisted);
  t.teardown(() => unlistedAgent.close());
  const refused = await request(`${proxy.url}/mcp/demo`, {
    dispatcher: unlistedAgent,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(refused.statusCode, 401, 'undici with an unlisted certificate: 401 at /mcp');
  t.match(refused.headers['www-authenticate'], /^Bearer resource_metadata=/);
  await refused.body.dump();
  const logged = proxy.logs().find((l) => l.event === 'auth.client_certificate_unlisted');
  t.equal(logged?.fingerprint, unlisted.fingerprint, 'the unlisted fingerprint is logged, ready to be listed');
});

t.test('require: no certificate, no handshake; the listed one gets through', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-require-'));
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  copyFileSync(server.cert, files.cert);
  copyFileSync(server.key, files.key);
  // Two CA files: one bundle (the other CA issued none of the certificates used here).
  const proxy = await proxyWith('require', undefined, files, [new TestCa('Third CA').cert, ca.cert]);
  // What follows holds after a certificate reload too (the new context keeps the client CA).
  const next = ca.server();
  proxy.tls!.close();
  copyFileSync(next.key, files.key);
  copyFileSync(next.cert, files.cert);
  t.equal(proxy.tls!.reload('SIGHUP'), 'reloaded');
  const none = await curl(`${proxy.url}/healthz`, undefined, '-H', `x-api-key: ${KEY}`);
  t.equal(none.status, 0, 'no HTTP answer');
  t.not(none.code, 0, `curl fails the handshake (exit ${none.code})`);
  const bare = agentWith();
  t.teardown(() => bare.close());
  await t.rejects(request(`${proxy.url}/healthz`, { dispatcher: bare }), 'undici without a certificate is refused');
  t.not((await curl(`${proxy.url}/healthz`, foreign)).code, 0, "another CA's certificate: no handshake");
  t.equal((await curl(`${proxy.url}/api/backends`, batch)).status, 200);
  const agent = agentWith(batch);
  t.teardown(() => agent.close());
  t.equal((await whoami(proxy.url, agent)).user, 'svc:batch');
});

t.test('policy names a certificate as cert:<name>', async (t) => {
  const proxy = await proxyWith('optional', { subjects: ['cert:batch'] });
  const agent = agentWith(batch);
  t.teardown(() => agent.close());
  t.equal((await whoami(proxy.url, agent)).user, 'svc:batch', 'cert:batch is admitted');
  const bare = agentWith();
  t.teardown(() => bare.close());
  await t.rejects(whoami(proxy.url, bare, { 'x-api-key': KEY }), 'the API key is not cert:batch');
  const apiCall = await curl(`${proxy.url}/api/backends/demo/tools`, undefined, '-H', `x-api-key: ${KEY}`);
  t.equal(apiCall.status, 403);
});

t.test('a reload that drops the certificate applies to connections already open', async (t) => {
  const proxy = await proxyWith('optional');
  const agent = agentWith(batch);
  t.teardown(() => agent.close());
  const status = async () => (await request(`${proxy.url}/api/backends`, { dispatcher: agent })).statusCode;
  t.equal(await status(), 200);
  const next = { ...proxy.config, clientCertificates: [] };
  t.ok(proxy.reload(next).ok, 'reloaded');
  t.equal(await status(), 401, 'the same connection is no longer a principal');
});

t.test('the admin console lists the certificate with when it was last used', async (t) => {
  const proxy = await startProxy({
    server: { tls: { cert: server.cert, key: server.key, clientCa: ca.cert, clientAuth: 'optional' } },
    clientCertificates: [{ name: 'batch', sha256: batch.fingerprint, subject: 'svc:batch', groups: ['bots'] }],
    apiKeys: [{ name: 'ci', sha256: hashApiKey(KEY), subject: 'svc:ci', groups: ['ops'] }],
    admin: { groups: ['ops'] },
    backends: [{ name: 'demo', http: { url: backend.url } }],
  });
  t.teardown(() => proxy.close());
  const plain = agentWith();
  t.teardown(() => plain.close());
  const keys = async () => {
    const res = await undiciFetch(`${proxy.url}/admin/api/keys`, {
      headers: { authorization: `Bearer ${KEY}` },
      dispatcher: plain,
    });
    t.equal(res.status, 200);
    const body = (await res.json()) as { keys: Array<{ id: string; lastUsed: string | null; groups: string[] }> };
    return body.keys.find((k) => k.id === 'certificate:batch');
  };
  const before = await keys();
  t.same(before && { lastUsed: before.lastUsed, groups: before.groups }, { lastUsed: null, groups: ['bots'] });
  const agent = agentWith(batch);
  t.teardown(() => agent.close());
  await whoami(proxy.url, agent);
  const deadline = Date.now() + 5000;
  let after = await keys();
  while (!after?.lastUsed && Date.now() < deadline) after = await keys(); // the store write is not awaited
  t.ok(after?.lastUsed && Date.parse(after.lastUsed) > Date.now() - 60_000, 'last used just now');
});
