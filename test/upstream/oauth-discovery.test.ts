// Finding a backend's authorization server and the proxy's client there, against the real
// backend AS (test/helpers/backend-as.ts): RFC 9728 at the well-known path, or through the
// backend's 401 challenge; a resource mismatch refused; `issuer` overriding; a failure not
// cached; one DCR registration shared through the store (replicas, restarts); CIMD when the
// server supports it and publicUrl is https; a configured client's auth method.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { BackendConfig } from '../../src/config/schema.js';
import { MemoryStore } from '../../src/store/memory.js';
import { OAuthClients } from '../../src/upstream/oauth-client.js';
import { type AuthServer, AuthServerDiscovery } from '../../src/upstream/oauth-discovery.js';
import { startOAuthBackend } from '../helpers/backend-as.js';

const be = await startOAuthBackend();
// A backend that publishes no well-known metadata: only its 401 points at it.
const challenger = http.createServer((req, res) => {
  req.resume();
  res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${be.mcp.resourceMetadataUrl}"` }).end();
});
await new Promise<void>((r) => challenger.listen(0, '127.0.0.1', r));
const challengerUrl = `http://127.0.0.1:${(challenger.address() as AddressInfo).port}/rpc`;
t.teardown(async () => {
  await new Promise<void>((r) => challenger.close(() => r()));
  await be.close();
});

const backend = (url: string, upstream: Record<string, unknown> = {}) =>
  ({ name: 'b', http: { url }, upstream: { kind: 'oauth', scopes: [], ...upstream } }) as unknown as BackendConfig;

t.test('RFC 9728 at the well-known path of the backend URL', async (t) => {
  const found = await new AuthServerDiscovery().get(backend(be.mcp.url));
  t.equal(found.issuer, be.as.issuer);
  t.equal(found.resource, be.mcp.url, 'resource defaults to the backend URL');
  t.equal(found.metadata.registration_endpoint, `${be.as.issuer}/reg`);
});

t.test("through the backend's 401 challenge; the metadata's resource must be the one sent", async (t) => {
  const d = new AuthServerDiscovery();
  await t.rejects(d.get(backend(challengerUrl)), /is for resource .*\/mcp, not .*\/rpc/);
  const found = await d.get(backend(challengerUrl, { resource: be.mcp.url }));
  t.equal(found.issuer, be.as.issuer);
});

t.test('issuer overrides; a failure is not cached', async (t) => {
  const d = new AuthServerDiscovery();
  const b = backend('http://127.0.0.1:9/nothing-here', { issuer: be.as.issuer });
  await be.as.stop();
  await t.rejects(d.get(b), /no authorization server metadata/);
  await be.as.start();
  t.equal((await d.get(b)).issuer, be.as.issuer, 'discovered again');
});

t.test('one DCR registration for every replica sharing the store', async (t) => {
  const store = new MemoryStore();
  const publicUrl = 'http://127.0.0.1:1';
  const replica = () => new OAuthClients({ store, publicUrl, discovery: new AuthServerDiscovery() });
  const before = be.as.counters.registrations.length;
  const [a, b] = await Promise.all([
    replica().clientFor(backend(be.mcp.url)),
    replica().clientFor(backend(be.mcp.url)),
  ]);
  const c = await replica().clientFor(backend(be.mcp.url));
  t.equal(a.how, 'dcr');
  const ids = new Set([a, b, c].map((x) => x.cfg.clientMetadata().client_id));
  t.ok(be.as.counters.registrations.length - before <= 2, 'at most one per replica racing');
  t.ok(ids.has(c.cfg.clientMetadata().client_id));
  const later = await replica().clientFor(backend(be.mcp.url));
  t.equal(later.cfg.clientMetadata().client_id, c.cfg.clientMetadata().client_id, 'a restart reuses it');
  const client = await be.as.provider.Client.find(c.cfg.clientMetadata().client_id);
  t.same(client?.redirectUris, [`${publicUrl}/connect/callback`]);
  t.equal(client?.tokenEndpointAuthMethod, 'client_secret_basic');
  t.ok(c.cfg.clientMetadata().client_secret, 'its secret kept (sealed at rest in Redis and PostgreSQL)');
});

t.test('CIMD when the server supports it and publicUrl is https; else DCR', async (t) => {
  const real = await new AuthServerDiscovery().get(backend(be.mcp.url));
  const cimd: AuthServer = { ...real, metadata: { ...real.metadata, client_id_metadata_document_supported: true } };
  const discovery = { get: async () => cimd } as unknown as AuthServerDiscovery;
  const store = new MemoryStore();
  const https = new OAuthClients({ store, publicUrl: 'https://proxy.example.com', discovery });
  const got = await https.clientFor(backend(be.mcp.url));
  t.equal(got.how, 'cimd');
  t.equal(got.cfg.clientMetadata().client_id, 'https://proxy.example.com/oauth/client-metadata.json');
  t.equal(got.cfg.clientMetadata().token_endpoint_auth_method, undefined);
  const plain = new OAuthClients({ store, publicUrl: 'http://127.0.0.1:2', discovery });
  t.equal((await plain.clientFor(backend(be.mcp.url))).how, 'dcr', 'plain http never offers a CIMD');
});

t.test('a configured client: its secret and auth method', async (t) => {
  const clients = new OAuthClients({
    store: new MemoryStore(),
    publicUrl: 'http://x',
    discovery: new AuthServerDiscovery(),
  });
  const before = be.as.counters.registrations.length;
  const confidential = await clients.clientFor(backend(be.mcp.url, { clientId: 'mine', clientSecret: 's' }));
  t.equal(confidential.how, 'configured');
  t.equal(confidential.cfg.clientMetadata().client_id, 'mine');
  t.equal(confidential.cfg.clientMetadata().client_secret, 's');
  const pub = await clients.clientFor(backend(be.mcp.url, { clientId: 'public' }));
  t.equal(pub.cfg.clientMetadata().client_secret, undefined);
  t.equal(be.as.counters.registrations.length, before, 'nothing registered');
});
