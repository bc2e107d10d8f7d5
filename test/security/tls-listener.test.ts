/**
 * The HTTPS listener (`server.tls`, DESIGN.md §13): a certificate swapped on disk reaches new
 * connections while an MCP stream opened before the swap keeps delivering; a bad new pair is
 * logged and the old certificate kept; HSTS and `Secure` cookies follow; unusable files stop
 * the start with one coded error.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/app/config.js';
import type { TlsReloader, TlsReloadResult } from '../../src/app/tls.js';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { TestCa, type Issued } from '../helpers/cert-authority.js';
import { freePort } from '../helpers/ports.js';
import { startProxy, TEST_SESSION_KEY } from '../helpers/proxy.js';
import { CLIENT_ID, CLIENT_SECRET, startIdpFor } from '../helpers/stack.js';

const ca = new TestCa();
const KEY = 'tls-test-key-0123456789';
const backend = await startDemoHttpServer();
t.teardown(() => backend.close());

/** The certificate files the proxy is configured with, overwritten in place by `install`. */
function liveFiles() {
  const dir = mkdtempSync(join(tmpdir(), 'tls-live-'));
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  const install = (c: Issued, key = c.key) => {
    copyFileSync(key, files.key);
    copyFileSync(c.cert, files.cert);
  };
  return { files, install };
}

/** The fingerprint a fresh TLS connection is shown. */
function servedFingerprint(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: Number(port), ca: ca.pem(), servername: 'localhost' }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** The next reload that ends with `want` (a half-written pair may fail first). */
async function reloadEnding(tls: TlsReloader, want: TlsReloadResult): Promise<void> {
  for (;;) {
    const [result] = (await once(tls, 'reload')) as [TlsReloadResult];
    if (result === want) return;
  }
}

async function tlsProxy(files: { cert: string; key: string }, extra: Record<string, unknown> = {}) {
  const proxy = await startProxy({
    server: { tls: files },
    apiKeys: [{ name: 'ci', sha256: hashApiKey(KEY), subject: 'svc:ci' }],
    backends: [{ name: 'demo', http: { url: backend.url } }],
    ...extra,
  });
  t.teardown(() => proxy.close());
  return proxy;
}

t.test('a swapped certificate reaches new connections; an open MCP stream keeps delivering', async (t) => {
  const first = ca.server();
  const second = ca.server();
  const { files, install } = liveFiles();
  install(first);
  const proxy = await tlsProxy(files);
  t.equal(await servedFingerprint(proxy.url), first.fingerprint, 'the first certificate is served');

  const agent = new Agent({ connect: { ca: ca.pem() } });
  t.teardown(() => agent.close());
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/demo`), {
    fetch: ((u: string | URL, init?: RequestInit) =>
      undiciFetch(u, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch,
    requestInit: { headers: { 'x-api-key': KEY } },
  });
  const client = new Client({ name: 'tls-swap', version: '1.0.0' });
  await client.connect(transport);
  t.teardown(() => client.close());

  // A long tool call answered as an SSE stream: one progress notification every 20 ms.
  let progress = 0;
  const waiters: Array<[number, () => void]> = [];
  const reached = (n: number) => new Promise<void>((r) => waiters.push([n, r]));
  const stop = new AbortController();
  const call = client.callTool({ name: 'slow_count', arguments: { n: 1000, delayMs: 20 } }, undefined, {
    signal: stop.signal,
    onprogress: (p) => {
      progress = p.progress;
      for (const [n, r] of waiters) if (progress >= n) r();
    },
  });
  const outcome = call.then(
    () => 'finished',
    (e: Error) => e.message,
  );
  await reached(2);

  const swapped = reloadEnding(proxy.tls!, 'reloaded');
  install(second);
  await swapped;
  const atSwap = progress;
  t.equal(await servedFingerprint(proxy.url), second.fingerprint, 'a new connection gets the new certificate');
  t.ok(
    proxy.logs().some((l) => l.event === 'tls.reloaded' && l.fingerprint256 === second.fingerprint),
    'the reload is logged with the new fingerprint',
  );

  await reached(atSwap + 5);
  t.ok(progress >= atSwap + 5, `the stream opened before the swap still delivers (${atSwap} → ${progress})`);
  stop.abort();
  t.match(await outcome, /abort/i, 'the call ended only because the client cancelled it');
  // The kept-alive connection of the client still works after the swap.
  t.same((await client.callTool({ name: 'echo', arguments: { text: 'after' } })).content, [
    { type: 'text', text: 'after' },
  ]);
});

t.test('a bad new pair is logged and the current certificate stays; SIGHUP re-reads', async (t) => {
  const good = ca.server();
  const other = ca.server();
  const { files, install } = liveFiles();
  install(good);
  const proxy = await tlsProxy(files);

  const failed = reloadEnding(proxy.tls!, 'failed');
  install(other, good.key); // the new certificate with a key that is not its own
  await failed;
  const line = proxy.logs().find((l) => l.event === 'tls.reload_failed');
  t.match(line?.reason, /key does not match the certificate/);
  t.equal(await servedFingerprint(proxy.url), good.fingerprint, 'the current certificate stays');
  const agent = new Agent({ connect: { ca: ca.pem() } });
  t.teardown(() => agent.close());
  t.equal((await request(`${proxy.url}/healthz`, { dispatcher: agent })).statusCode, 200, 'still serving');

  proxy.tls!.close(); // no watcher from here: only the explicit reload (what SIGHUP calls) reads the files
  install(other);
  t.equal(await servedFingerprint(proxy.url), good.fingerprint, 'not watched: nothing changes by itself');
  t.equal(proxy.tls!.reload('SIGHUP'), 'reloaded');
  t.equal(await servedFingerprint(proxy.url), other.fingerprint);
  t.equal(proxy.tls!.reload('SIGHUP'), 'unchanged', 'the same files again: nothing to do');
});

t.test('over TLS: HSTS, and Secure cookies', async (t) => {
  const { files, install } = liveFiles();
  install(ca.server());
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const idp = await startIdpFor(publicUrl);
  t.teardown(() => idp.close());
  const proxy = await tlsProxy(files, {
    server: { tls: files, port },
    oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  });
  t.equal(proxy.url, publicUrl);
  const agent = new Agent({ connect: { ca: ca.pem() } });
  t.teardown(() => agent.close());
  const health = await request(`${proxy.url}/healthz`, { dispatcher: agent });
  t.match(health.headers['strict-transport-security'], /max-age=\d+/);
  await health.body.dump();
  const login = await request(`${proxy.url}/oauth/login`, { dispatcher: agent });
  t.equal(login.statusCode, 302);
  const cookies = [login.headers['set-cookie'] ?? []].flat();
  t.ok(cookies.length, 'the login sets its transaction cookie');
  for (const c of cookies) t.match(c, /;\s*Secure/i, `Secure: ${c.split('=')[0]}`);
  await login.body.dump();
});

t.test('files that cannot serve stop the start with one coded error', async (t) => {
  const a = ca.server();
  const b = ca.server();
  const build = (tls: Record<string, string>) => {
    const { config, problems } = loadConfig({
      doc: {
        server: { port: 0, tls },
        session: { keys: [TEST_SESSION_KEY] },
        apiKeys: [{ name: 'ci', sha256: hashApiKey(KEY), subject: 'svc:ci' }],
        backends: [{ name: 'demo', http: { url: backend.url } }],
      },
    });
    t.same(problems, []);
    return buildApp(config!);
  };
  await t.rejects(build({ cert: a.cert, key: b.key }), {
    code: 'TLS_INVALID',
    message: /^server\.tls: the key does not match the certificate/,
  });
  await t.rejects(build({ cert: a.cert, key: '/nonexistent/tls.key' }), {
    code: 'FILE_UNREADABLE',
    message: /the TLS key \(server\.tls\.key\) \/nonexistent\/tls\.key: ENOENT/,
  });
  await t.rejects(build({ cert: a.key, key: a.key }), { code: 'TLS_INVALID' }, 'a key is not a certificate');
});
