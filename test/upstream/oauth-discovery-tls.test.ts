/**
 * An `oauth` backend that demands a client certificate: its RFC 9728 metadata is fetched with its
 * own `http.tls` (CA, client certificate), as its MCP traffic is (src/lib/outbound-tls.ts).
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import type { BackendConfig } from '../../src/config/schema.js';
import { OutboundTls } from '../../src/lib/outbound-tls.js';
import { AuthServerDiscovery } from '../../src/upstream/oauth-discovery.js';
import { startOAuthBackend } from '../helpers/backend-as.js';
import { clientCertRequired, makeTestCa } from '../helpers/test-ca.js';

const be = await startOAuthBackend();
const pki = makeTestCa();
const serverCert = pki.issue('127.0.0.1', { san: 'IP:127.0.0.1' });
const client = pki.issue('proxy-client', { client: true });
const seen: string[] = [];
const server = createServer(clientCertRequired(serverCert, pki), (req, res) => {
  seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
  if (req.url !== '/.well-known/oauth-protected-resource/mcp') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ resource: url, authorization_servers: [be.as.issuer] }));
});
server.on('tlsClientError', () => undefined);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
const tls = new OutboundTls();
t.teardown(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await tls.close();
  await be.close();
});

const backend = {
  name: 'b',
  http: { url, tls: { ca: pki.caFile, cert: client.certFile, key: client.keyFile } },
  upstream: { kind: 'oauth', scopes: [] },
} as unknown as BackendConfig;

t.test("with the backend's http.tls: its metadata names its authorization server", async (t) => {
  const d = new AuthServerDiscovery(fetch, (b) => tls.backendFetch(b.http?.tls, 'backend "b" http.tls'));
  t.equal((await d.get(backend)).issuer, be.as.issuer);
  t.same(new Set(seen), new Set(['proxy-client']), 'the backend saw the client certificate');
});

t.test('without it: the backend cannot be read', async (t) => {
  await t.rejects(new AuthServerDiscovery().get(backend), /publishes no RFC 9728 protected-resource metadata/);
});
