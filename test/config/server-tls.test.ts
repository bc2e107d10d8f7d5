/** The inbound TLS keys: `server.tls` (clientAuth and its CA) and `clientCertificates` (fingerprints). */
import t from 'tap';
import { configWarnings, loadConfig } from '../../src/app/config.js';
import { restartKeys } from '../../src/config/live-keys.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';

const HEX = 'ab'.repeat(32);
const COLONS = 'AB:'.repeat(31) + 'AB';
const backends = [{ name: 'a', http: { url: 'http://127.0.0.1:1/mcp' } }];
const load = (doc: Record<string, unknown>) =>
  loadConfig({ doc: { session: { keys: [TEST_SESSION_KEY] }, backends, ...doc } });
const cert = (sha256: string, name = 'batch') => ({ name, sha256, subject: `svc:${name}` });
const tls = (extra: Record<string, unknown> = {}) => ({ cert: 'c.pem', key: 'k.pem', ...extra });

t.test('clientAuth: optional when a CA is named, none otherwise; each needs the other', async (t) => {
  const withCa = load({ server: { tls: tls({ clientCa: 'ca.pem' }) }, clientCertificates: [cert(COLONS)] });
  t.same(withCa.problems, []);
  t.equal(withCa.config?.server.tls?.clientAuth, 'optional');
  t.equal(withCa.config?.server.publicUrl, 'https://127.0.0.1:8080', 'publicUrl follows the listener: https');
  t.equal(withCa.config?.clientCertificates[0]?.sha256, HEX, 'the fingerprint is kept as lowercase hex');
  const two = load({ server: { tls: tls({ clientCa: ['a.pem', 'b.pem'] }) }, clientCertificates: [cert(HEX)] });
  t.same(two.config?.server.tls?.clientCa, ['a.pem', 'b.pem'], 'one CA file or a list');
  t.same(withCa.config?.server.tls?.clientCa, ['ca.pem']);
  const plain = load({ server: { tls: tls() }, apiKeys: [{ name: 'k', sha256: HEX, subject: 's' }] });
  t.equal(plain.config?.server.tls?.clientAuth, 'none');
  t.same(load({ server: { tls: tls({ clientAuth: 'require' }) }, clientCertificates: [cert(HEX)] }).problems, [
    'server.tls.clientCa: clientAuth "require" needs clientCa: the CA that client certificates must chain to',
  ]);
  t.same(
    load({ server: { tls: tls({ clientCa: 'ca.pem', clientAuth: 'none' }) }, clientCertificates: [cert(HEX)] })
      .problems,
    ['server.tls.clientAuth: clientCa is set but clientAuth is "none": use optional or require (or remove clientCa)'],
  );
  t.same(load({ clientCertificates: [cert(HEX)] }).problems, [
    'clientCertificates: client certificates need server.tls with clientCa and clientAuth optional or require',
  ]);
  t.same(
    load({
      server: { tls: tls({ clientCa: 'ca.pem' }), publicUrl: 'http://proxy.example.com' },
      clientCertificates: [cert(HEX)],
    }).problems,
    ['server.publicUrl: the proxy listens over HTTPS (server.tls): publicUrl must be https'],
  );
});

t.test('fingerprints: as openssl prints them, hex of any case; bad and repeated ones refused', async (t) => {
  const server = { tls: tls({ clientCa: 'ca.pem' }) };
  const pasted = load({ server, clientCertificates: [cert(`sha256 Fingerprint=${COLONS}`)] });
  t.same(pasted.problems, []);
  t.equal(pasted.config?.clientCertificates[0]?.sha256, HEX);
  t.same(load({ server, clientCertificates: [cert(HEX.slice(2))] }).problems, [
    'clientCertificates[0].sha256: sha256 is the certificate fingerprint: 64 hex characters, colons allowed',
  ]);
  t.same(load({ server, clientCertificates: [cert(HEX), cert(COLONS, 'other'), cert(HEX, 'batch')] }).problems, [
    'clientCertificates[1].sha256: the same fingerprint as another entry',
    'clientCertificates[2].name: duplicate client certificate "batch"',
    'clientCertificates[2].sha256: the same fingerprint as another entry',
  ]);
});

t.test('clientCertificates change live; the listener keys need a restart', async (t) => {
  const a = load({ server: { tls: tls({ clientCa: 'ca.pem' }) }, clientCertificates: [cert(HEX)] }).config!;
  const b = load({ server: { tls: tls({ clientCa: 'ca.pem' }) }, clientCertificates: [cert(HEX, 'renamed')] }).config!;
  const c = load({ server: { tls: tls({ clientCa: 'ca.pem', clientAuth: 'require' }) }, clientCertificates: [] });
  t.same(restartKeys(a, b), []);
  const moved = load({
    server: { tls: tls({ cert: 'other.pem', clientCa: 'ca.pem' }) },
    clientCertificates: [cert(HEX)],
  }).config!;
  t.same(restartKeys(a, moved), ['server.tls'], 'other paths: a restart (the files themselves are re-read live)');
  t.match(c.problems, [/^nobody can authenticate: .*clientCertificates/], 'an empty list is no way in');
});

t.test('certificate groups count as a source of groups for policy', async (t) => {
  const doc = (groups: string[]) => ({
    server: { tls: tls({ clientCa: 'ca.pem' }) },
    clientCertificates: [{ ...cert(HEX), groups }],
    backends: [{ name: 'a', http: { url: 'http://127.0.0.1:1/mcp' }, allow: { groups: ['bots'] } }],
  });
  t.same(configWarnings(load(doc(['bots'])).config!), []);
  t.match(configWarnings(load(doc([])).config!), [/nothing configured supplies groups/]);
});

t.test('the listener files can come from the environment', async (t) => {
  const { config, problems } = loadConfig({
    doc: { session: { keys: [TEST_SESSION_KEY] }, backends, apiKeys: [{ name: 'k', sha256: HEX, subject: 's' }] },
    env: { MCP_PROXY_SERVER_TLS_CERT: '/etc/tls/tls.crt', MCP_PROXY_SERVER_TLS_KEY: '/etc/tls/tls.key' },
  });
  t.same(problems, []);
  t.same(config?.server.tls, { cert: '/etc/tls/tls.crt', key: '/etc/tls/tls.key', clientAuth: 'none' });
});
