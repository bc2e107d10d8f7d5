/**
 * Outbound TLS to HTTP backends (DESIGN.md §13): a backend signed by a private CA is refused
 * (502, BACKEND_TLS, the reason logged) until `tls.ca` or its own `http.tls.ca` trusts it; a
 * backend demanding a client certificate gets the one `http.tls.cert/key` names; `serverName`
 * checks the certificate against another name than the URL's host.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { clientCertRequired, makeTestCa } from '../helpers/test-ca.js';
import { startCaSignedMcps, startHttpsMcp } from '../helpers/https-mcp.js';

const KEY = 'outbound-tls-test-key';
const apiKeys = [{ name: 'tester', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'tester' }];

const pki = makeTestCa();
const { serverCert, plain, mtls } = await startCaSignedMcps(pki);
const namedCert = pki.issue('backend.internal', { san: 'DNS:backend.internal' });
const clientCert = pki.issue('proxy-client', { client: true });
const otherCa = makeTestCa('Other CA');
const strangerCert = otherCa.issue('stranger', { client: true });

// `plain`: no client certificate asked; `mtls`: one from the test CA demanded; `mtlsSse`: the same
// over the 2024-11-05 HTTP+SSE transport.
const mtlsSse = await startHttpsMcp(clientCertRequired(serverCert, pki), { sse: true });
// Its certificate names backend.internal only.
const named = await startHttpsMcp({ key: namedCert.key, cert: namedCert.cert });
t.teardown(() => Promise.all([plain.close(), mtls.close(), mtlsSse.close(), named.close()]));

const ca = pki.caFile;
const proxy = await startProxy({
  apiKeys,
  backends: [
    { name: 'untrusted', http: { url: plain.url } },
    { name: 'ownca', http: { url: plain.url, tls: { ca } } },
    { name: 'nocert', http: { url: mtls.url, tls: { ca } } },
    { name: 'stranger', http: { url: mtls.url, tls: { ca, cert: strangerCert.certFile, key: strangerCert.keyFile } } },
    { name: 'mtls', http: { url: mtls.url, tls: { ca, cert: clientCert.certFile, key: clientCert.keyFile } } },
    {
      name: 'sse',
      http: {
        url: mtlsSse.url,
        transport: 'sse',
        tls: { ca, cert: clientCert.certFile, key: clientCert.keyFile },
      },
    },
    { name: 'misnamed', http: { url: named.url, tls: { ca } } },
    { name: 'named', http: { url: named.url, tls: { ca, serverName: 'backend.internal' } } },
  ],
});
t.teardown(() => proxy.close());
// `tls.ca`: trusted by every outbound call, backends included.
const trusting = await startProxy({
  apiKeys,
  tls: { ca: [ca] },
  backends: [{ name: 'plain', http: { url: plain.url } }],
});
t.teardown(() => trusting.close());

const initialize = (p: RunningProxy, backend: string) =>
  fetch(`${p.url}/mcp/${backend}`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });

/** The SDK client through the proxy: `whoami`'s answer (the client certificate the backend saw). */
async function whoami(p: RunningProxy, backend: string): Promise<string> {
  const client = new Client({ name: 'outbound-tls-test', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${p.url}/mcp/${backend}`), {
    requestInit: { headers: { 'x-api-key': KEY } },
  });
  await client.connect(transport);
  try {
    const out = await client.callTool({ name: 'whoami', arguments: {} });
    return (out.content as Array<{ text: string }>)[0]!.text;
  } finally {
    await client.close();
  }
}

/** A 502 whose JSON-RPC error is BACKEND_TLS naming `backend`, and the log line's reason. */
async function refusedOverTls(t: Test, p: RunningProxy, backend: string): Promise<string> {
  const res = await initialize(p, backend);
  t.equal(res.status, 502, `${backend}: 502`);
  const body = (await res.json()) as { error: { code: number; message: string; data: { code: string } } };
  t.equal(body.error.data.code, 'BACKEND_TLS');
  t.match(body.error.message, `backend "${backend}"`, 'the error names the backend');
  t.notMatch(body.error.message, /ALERT|UNABLE|VERIFY|ERR_|CA\b/, 'the TLS reason stays in the log');
  const line = p.logs().findLast((l) => l.code === 'BACKEND_TLS');
  t.match(line?.msg, `backend "${backend}"`, 'logged');
  return String(line?.reason ?? '');
}

t.test('a backend signed by an unknown CA: BACKEND_TLS, "unknown CA" in the log', async (t) => {
  const reason = await refusedOverTls(t, proxy, 'untrusted');
  t.match(reason, /^TLS: unknown CA: .* \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/);
});

t.test('trusted through `tls.ca`: the same backend works', async (t) => {
  t.equal(await whoami(trusting, 'plain'), '(no client certificate)');
});

t.test("trusted through the backend's own http.tls.ca", async (t) => {
  t.equal(await whoami(proxy, 'ownca'), '(no client certificate)');
});

t.test('a backend demanding a client certificate', async (t) => {
  t.test('none given: BACKEND_TLS', async (t) => {
    const reason = await refusedOverTls(t, proxy, 'nocert');
    t.match(reason, /^TLS: client certificate refused: /);
  });
  t.test('one from a CA it does not trust: BACKEND_TLS', async (t) => {
    const reason = await refusedOverTls(t, proxy, 'stranger');
    t.match(reason, /^TLS: client certificate refused: /);
  });
  t.test("http.tls.cert/key: it works and the backend sees the proxy's certificate", async (t) => {
    const before = mtls.peers.length;
    t.equal(await whoami(proxy, 'mtls'), 'proxy-client');
    t.ok(mtls.peers.length > before);
    t.same(new Set(mtls.peers.slice(before)), new Set(['proxy-client']), 'every request carried it');
  });
});

t.test('HTTP+SSE (2024-11-05): the stream and the POSTs carry the client certificate', async (t) => {
  t.equal(await whoami(proxy, 'sse'), 'proxy-client');
  t.ok(mtlsSse.peers.length >= 2, 'a stream and its POSTs');
  t.same(new Set(mtlsSse.peers), new Set(['proxy-client']));
});

t.test('serverName', async (t) => {
  t.test('absent: the certificate does not name the URL host (hostname mismatch)', async (t) => {
    const reason = await refusedOverTls(t, proxy, 'misnamed');
    t.match(reason, /^TLS: hostname mismatch: .*\(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
  });
  t.test('set: the certificate is checked against it', async (t) => {
    t.equal(await whoami(proxy, 'named'), '(no client certificate)');
  });
});
