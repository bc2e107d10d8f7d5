/**
 * SSRF through Client ID Metadata Documents: an MCP client names an https URL as its
 * client_id and the proxy's AS fetches it. Every way of pointing that fetch at loopback,
 * private or cloud-metadata addresses is refused before a connection is made, and documents
 * that redirect, stall, drip or inflate are refused within the fetch budget (2.5 s).
 */
import t, { type Test } from 'tap';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';
import { isSpecialUseAddress, isLoopbackHost } from '../../src/lib/net.js';
import { startHttpsServer } from '../helpers/https-server.js';
import { connectionCounter } from '../helpers/hostile-tokens.js';
import { asMetadata, authorizeUrl, pkce } from '../helpers/oauth-manual.js';
import { startStack } from '../helpers/stack.js';

const REDIRECT = 'http://127.0.0.1:33421/callback';
// A listener on loopback: every loopback spelling below points at it, and it must see no connection.
const target = await connectionCounter('127.0.0.1');
/**
 * A well-formed document padded with `padding` bytes of JSON whitespace, gzipped: at 64 MiB
 * (~64 KiB on the wire) only the body limit, which counts inflated bytes, can refuse it.
 */
const gzipped = new Map<string, Buffer>();
function paddedDocument(self: string, padding: number): Buffer {
  const doc = JSON.stringify({
    client_id: self,
    client_name: 'padded doc',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
  });
  const cached =
    gzipped.get(self) ??
    gzipSync(Buffer.concat([Buffer.from(doc.slice(0, -1)), Buffer.alloc(padding, ' '), Buffer.from('}')]));
  gzipped.set(self, cached);
  return cached;
}
const fetchesOf = new Map<string, number>();
const held: Array<import('node:http').ServerResponse> = [];
const docs = await startHttpsServer((req, res) => {
  const self = `${docs.origin}${req.url}`;
  fetchesOf.set(req.url!, (fetchesOf.get(req.url!) ?? 0) + 1);
  if (req.url === '/redirect.json')
    return void res.writeHead(302, { location: `https://127.0.0.1:${target.port}/client.json` }).end();
  if (req.url === '/stall.json') return void held.push(res); // headers never come
  if (req.url === '/drip.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"client_id":');
    held.push(res);
    const timer = setInterval(() => (res.writableEnded ? clearInterval(timer) : res.write(' ')), 200);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (req.url === '/gzip-bomb.json' || req.url === '/gzip-small.json') {
    return void res
      .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      .end(paddedDocument(self, req.url === '/gzip-bomb.json' ? 64 * 1024 * 1024 : 1024));
  }
  const body: Record<string, unknown> = {
    client_id: self,
    client_name: 'hostile doc',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
  };
  if (req.url === '/secret.json') body.client_secret = 'shh';
  if (req.url === '/array.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('[1,2,3]');
  if (req.url === '/not-json.json')
    return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
  if (req.url === '/http-jwks.json') body.jwks_uri = `http://127.0.0.1:${target.port}/jwks`;
  if (req.url === '/evil-redirect.json') body.redirect_uris = [REDIRECT, 'http://evil.example/cb'];
  if (req.url === '/loopback-jwks.json') body.jwks_uri = `https://127.0.0.1:${target.port}/jwks`;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
const stack = await startStack({ consent: false, deps: { cimdTestOrigin: { host: docs.host, fetch: docs.fetch } } });
t.teardown(async () => {
  for (const r of held) r.destroy();
  await stack.close();
  await docs.close();
  await target.close();
});
const { proxy } = stack;
const meta = await asMetadata(proxy.url);

/** Starts an authorization with `clientId`; the AS error page, and how long it took. */
async function authorize(clientId: string) {
  const started = Date.now();
  const res = await fetch(
    authorizeUrl(meta, {
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: pkce().challenge,
      resource: `${proxy.url}/mcp/demo`,
    }),
    { redirect: 'manual' },
  );
  const text = (await res.text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  return { status: res.status, location: res.headers.get('location'), text, ms: Date.now() - started };
}

/** Refused by the proxy's own address policy: 400, no redirect, no connection to the target. */
async function refusedBeforeConnecting(t: Test, clientId: string) {
  const before = target.connections;
  const r = await authorize(clientId);
  t.equal(r.status, 400);
  t.equal(r.location, null, 'no redirect to the client');
  t.match(r.text, /fetch not allowed/);
  t.equal(target.connections, before, 'nothing connected to the loopback listener');
}

const P = target.port;
const LOOPBACK_SPELLINGS: Array<[string, string]> = [
  ['decimal integer IPv4', `https://2130706433:${P}/client.json`],
  ['hexadecimal IPv4', `https://0x7f000001:${P}/client.json`],
  ['octal IPv4', `https://0177.0.0.1:${P}/client.json`],
  ['shortened IPv4 (127.1)', `https://127.1:${P}/client.json`],
  ['IPv4-mapped IPv6, dotted', `https://[::ffff:127.0.0.1]:${P}/client.json`],
  ['IPv4-mapped IPv6, hex words', `https://[::ffff:7f00:1]:${P}/client.json`],
  ['IPv6 loopback written out in full', `https://[0:0:0:0:0:0:0:1]:${P}/client.json`],
  ['upper-case LOCALHOST', `https://LOCALHOST:${P}/client.json`],
  ['localhost with a trailing dot', `https://localhost.:${P}/client.json`],
  ['a subdomain of localhost', `https://mcp.localhost:${P}/client.json`],
  ['the unspecified address 0.0.0.0', `https://0.0.0.0:${P}/client.json`],
];
for (const [label, clientId] of LOOPBACK_SPELLINGS)
  t.test(`CIMD loopback spelling: ${label}`, (t) => refusedBeforeConnecting(t, clientId));

const METADATA_ADDRESSES: Array<[string, string]> = [
  ['AWS/GCP/Azure metadata 169.254.169.254', 'https://169.254.169.254/latest/meta-data/'],
  ['Alibaba metadata 100.100.100.200 (CGNAT range)', 'https://100.100.100.200/latest/meta-data/'],
  ['AWS IPv6 metadata fd00:ec2::254', 'https://[fd00:ec2::254]/latest/meta-data/'],
  ['metadata address through NAT64 (64:ff9b::a9fe:a9fe)', 'https://[64:ff9b::a9fe:a9fe]/'],
  ['metadata address through 6to4 (2002:a9fe:a9fe::)', 'https://[2002:a9fe:a9fe::]/'],
  ['IPv6 link-local fe80::1', 'https://[fe80::1]/'],
  ['private 192.168.0.1', 'https://192.168.0.1/client.json'],
  ['private 172.16.0.1', 'https://172.16.0.1/client.json'],
  ['IETF protocol assignments 192.0.0.1', 'https://192.0.0.1/client.json'],
];
for (const [label, clientId] of METADATA_ADDRESSES)
  t.test(`CIMD special-use address: ${label}`, (t) => refusedBeforeConnecting(t, clientId));

t.test("CIMD: a DNS name that resolves to a special-use address (this machine's own host name)", async (t) => {
  const name = hostname();
  const addresses = (await lookup(name, { all: true })).map((a) => a.address);
  t.ok(
    addresses.length && addresses.every((a) => isLoopbackHost(a) || isSpecialUseAddress(a)),
    `precondition: ${name} resolves to ${addresses.join(', ')}`,
  );
  await refusedBeforeConnecting(t, `https://${name}:${P}/client.json`);
});

/** Refused after the fetch: 400 invalid_client, no redirect, promptly (the provider's fetch budget is 2.5 s). */
async function refusedDocument(t: Test, path: string, why: RegExp) {
  const r = await authorize(`${docs.origin}${path}`);
  t.equal(r.status, 400);
  t.equal(r.location, null, 'no redirect to the client');
  t.match(r.text, /invalid_client/);
  t.match(r.text, why);
  t.ok(r.ms < 10_000, `answered in ${r.ms} ms`);
}

t.test('CIMD: a document that redirects to loopback is not followed', async (t) => {
  const before = target.connections;
  await refusedDocument(t, '/redirect.json', /unexpected response status 302|fetch failed/);
  t.equal(target.connections, before, 'the redirect target saw no connection');
});
t.test(
  'CIMD time bomb: a server that never answers is given up on, and the proxy answers others meanwhile',
  async (t) => {
    const pending = refusedDocument(t, '/stall.json', /fetch failed/);
    const health = await fetch(`${proxy.url}/healthz`);
    t.equal(health.status, 200, 'the proxy is responsive while the fetch hangs');
    await pending;
    t.comment(`fetch attempts for the stalled document: ${fetchesOf.get('/stall.json')}`);
  },
);
t.test('CIMD time bomb: a body that drips forever is cut off', (t) => refusedDocument(t, '/drip.json', /fetch failed/));
t.test('CIMD size bomb: a well-formed gzip document inflating to 64 MiB is cut off at the limit', async (t) => {
  const small = await authorize(`${docs.origin}/gzip-small.json`);
  t.equal(small.status, 303, 'control: the same document with 1 KiB of padding is accepted');
  await refusedDocument(t, '/gzip-bomb.json', /fetch failed/);
});
t.test('CIMD: a document holding a client_secret', (t) => refusedDocument(t, '/secret.json', /client_secret/));
t.test('CIMD: a JSON array instead of an object', (t) => refusedDocument(t, '/array.json', /not a JSON object/));
t.test('CIMD: an HTML page instead of JSON', (t) => refusedDocument(t, '/not-json.json', /fetch failed/));
t.test('CIMD: a plain-http jwks_uri in the document', (t) =>
  refusedDocument(t, '/http-jwks.json', /jwks_uri must be an https: URL/),
);
t.test('CIMD: a plain-http redirect URI to another host in the document (MCP: https or loopback only)', async (t) => {
  const r = await authorize(`${docs.origin}/evil-redirect.json`);
  t.equal(r.status, 400);
  t.equal(r.location, null, 'no redirect to the client');
  t.match(r.text, /redirect_uris must be https or loopback http URLs \(http:\/\/evil\.example\/cb\)/);
});
t.test('CIMD: an https jwks_uri on a loopback address in the document', (t) =>
  refusedDocument(t, '/loopback-jwks.json', /jwks_uri must be an https: URL of a public host/),
);
t.test('control: the same origin serving a well-formed document is accepted', async (t) => {
  const r = await authorize(`${docs.origin}/good.json`);
  t.equal(r.status, 303);
  t.match(r.location ?? '', /^\/interaction\//);
});
