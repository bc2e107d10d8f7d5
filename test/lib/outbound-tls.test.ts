/**
 * The outbound TLS settings (DESIGN.md §13) before any connection: the config keys' checks, the
 * files read at start (an unreadable one is one start-up line naming its key), and the words a
 * TLS failure is logged with.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { loadConfig } from '../../src/app/config.js';
import { startupFailure } from '../../src/app/startup-errors.js';
import { tlsFailure } from '../../src/lib/error-cause.js';
import { OutboundTls } from '../../src/lib/outbound-tls.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { makeTestCa } from '../helpers/test-ca.js';

const doc = (extra: Record<string, unknown>, http: Record<string, unknown> = {}) => ({
  session: { keys: [TEST_SESSION_KEY] },
  apiKeys: [{ name: 'k', sha256: 'a'.repeat(64), subject: 's' }],
  backends: [{ name: 'b', http: { url: 'https://backend.example/mcp', ...http } }],
  ...extra,
});
const problems = (d: Record<string, unknown>) => loadConfig({ doc: d, env: {} }).problems;

t.test('config: tls.ca one path or a list; http.tls keys; cert and key together; https only', async (t) => {
  t.same(problems(doc({ tls: { ca: '/etc/ca.pem' } })), []);
  t.same(problems(doc({ tls: { ca: ['/a.pem', '/b.pem'] } }, { tls: { ca: '/c.pem', serverName: 'b.internal' } })), []);
  t.match(problems(doc({ tls: { ca: [] } })).join('\n'), /tls\.ca/);
  t.match(problems(doc({ tls: { cert: '/x' } })).join('\n'), /tls.*cert/, 'top-level tls has only ca');
  t.match(
    problems(doc({}, { tls: { cert: '/c.pem' } })).join('\n'),
    /backends\[0\]\.http\.tls\.key: cert and key go together/,
  );
  t.match(
    problems(doc({}, { tls: { key: '/k.pem' } })).join('\n'),
    /backends\[0\]\.http\.tls\.cert: cert and key go together/,
  );
  t.match(
    problems(doc({}, { url: 'http://127.0.0.1:9/mcp', tls: { ca: '/c.pem' } })).join('\n'),
    /backends\[0\]\.http\.tls: tls is for an https url/,
  );
  t.match(problems(doc({}, { tls: { serverNam: 'x' } })).join('\n'), /serverName/, 'did you mean');
});

t.test('files: read at start; an unreadable one is one line naming its key', async (t) => {
  const pki = makeTestCa();
  const tls = new OutboundTls({ ca: pki.caFile });
  const trusted = new Set(tls.ca);
  t.ok(
    rootCertificates.every((c) => trusted.has(c)),
    "Node's roots (and NODE_EXTRA_CA_CERTS, when set) stay trusted",
  );
  t.equal(tls.ca?.at(-1), pki.ca);
  t.ok(tls.dispatcher, 'an agent of its own');
  await tls.close();
  const none = new OutboundTls();
  t.equal(none.ca, undefined, "no tls.ca: Node's defaults stand");
  t.equal(none.dispatcher, undefined);
  const client = pki.issue('c', { client: true });
  const b = none.backend(
    { cert: client.certFile, key: client.keyFile, serverName: 'x.internal' },
    'backend "b" http.tls',
  );
  t.same(b, { cert: client.cert, key: client.key, servername: 'x.internal' });
  t.equal(new OutboundTls({ ca: pki.caFile }).backend(undefined, 'w').ca?.at(-1), pki.ca, 'tls.ca reaches backends');

  const missing = join(mkdtempSync(join(tmpdir(), 'tls-')), 'nope.pem');
  const err = t.throws(() => new OutboundTls({ ca: [pki.caFile, missing] })) as Error;
  t.match(startupFailure(err)?.line, `error: cannot read tls.ca ${missing}: ENOENT: check the path`);
  const bad = t.throws(() => none.backend({ cert: missing, key: missing }, 'backend "b" http.tls')) as Error;
  t.match(bad.message, `cannot read backend "b" http.tls.cert ${missing}`);
});

t.test('a start with an unreadable tls.ca fails with that line, before listening', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  const { buildApp } = await import('../../src/app.js');
  const { config } = loadConfig({ doc: doc({ tls: { ca: join(dir, 'missing.pem') } }), env: {} });
  await t.rejects(buildApp(config!), {
    code: 'FILE_UNREADABLE',
    message: /cannot read tls\.ca .*missing\.pem: ENOENT/,
  });
});

t.test('TLS failures in words', async (t) => {
  const e = (code: string, message = code) =>
    new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
  t.match(tlsFailure(e('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify')), /^TLS: unknown CA: unable to verify/);
  t.match(tlsFailure(e('SELF_SIGNED_CERT_IN_CHAIN')), /^TLS: unknown CA: /);
  t.match(tlsFailure(e('DEPTH_ZERO_SELF_SIGNED_CERT')), /^TLS: unknown CA: /);
  t.match(tlsFailure(e('CERT_HAS_EXPIRED')), /^TLS: certificate verify failed: .*\(CERT_HAS_EXPIRED\)$/);
  t.match(tlsFailure(e('ERR_TLS_CERT_ALTNAME_INVALID')), /^TLS: hostname mismatch: /);
  t.match(tlsFailure(e('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')), /^TLS: client certificate refused: /);
  t.match(tlsFailure(e('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')), /^TLS: client certificate refused: /);
  t.match(tlsFailure(e('ERR_SSL_WRONG_VERSION_NUMBER')), /^TLS: handshake failure: /);
  t.equal(tlsFailure(e('ECONNREFUSED')), undefined, 'not a TLS failure');
  t.equal(tlsFailure(new Error('plain')), undefined);
});
