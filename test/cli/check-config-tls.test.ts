/**
 * `check-config --probe` reaches out as the proxy does (DESIGN.md §13): an IdP and a backend behind a
 * private CA fail with the TLS reason until `tls.ca` trusts it; a backend demanding a client certificate
 * is probed with the one its `http.tls` names; an unreadable `tls.ca` file is a failure of its own.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { runCli } from '../helpers/spawn.js';
import { startIdpFor } from '../helpers/stack.js';
import { makeTestCa } from '../helpers/test-ca.js';
import { startCaSignedMcps } from '../helpers/https-mcp.js';

const dir = mkdtempSync(join(tmpdir(), 'check-config-tls-'));
const pki = makeTestCa();
const { serverCert, plain, mtls } = await startCaSignedMcps(pki);
const client = pki.issue('probe-client', { client: true });
const idp = await startIdpFor('http://127.0.0.1:8080', { tls: { key: serverCert.key, cert: serverCert.cert } });
t.teardown(() => Promise.all([idp.close(), plain.close(), mtls.close()]));

const probe = async (name: string, tls: string) => {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `${tls}
oidc: { issuer: "${idp.issuer}", clientId: a, clientSecret: b }
session: { keys: [${TEST_SESSION_KEY}] }
backends:
  - { name: plain, http: { url: "${plain.url}" } }
  - { name: mtls, http: { url: "${mtls.url}", tls: { cert: "${client.certFile}", key: "${client.keyFile}" } } }
  - { name: nocert, http: { url: "${mtls.url}" } }
`,
  );
  const r = await runCli(['check-config', '--probe', '--config', f]);
  const lines = Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => [/^(?:ok {3}|FAIL )(\S+(?: \w+)?) /.exec(l)?.[1], l])
      .filter(([what]) => what),
  ) as Record<string, string>;
  return { ...r, lines };
};

t.test('without tls.ca: the private CA is unknown', async (t) => {
  const r = await probe('untrusted', '');
  t.equal(r.code, 1, r.stdout);
  t.match(r.lines.idp, /^FAIL idp https:.* \(TLS: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  t.match(r.lines['backend plain'], /^FAIL .*\(TLS: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  // That server sends the CA with its certificate.
  t.match(r.lines['backend mtls'], /^FAIL .*\(TLS: SELF_SIGNED_CERT_IN_CHAIN/);
});

t.test('with tls.ca: the IdP and backends answer; mTLS with the configured client certificate', async (t) => {
  const before = mtls.peers.length;
  const r = await probe('trusted', `tls: { ca: "${pki.caFile}" }`);
  t.match(r.lines.idp, /^ok {3}idp https:.* \(discovery and JWKS \(\d+ keys?\)\)$/);
  t.match(r.lines['backend plain'], /^ok {3}backend plain https:.* \(HTTP \d+\)$/);
  t.match(r.lines['backend mtls'], /^ok {3}backend mtls https:.* \(HTTP \d+\)$/);
  t.same(mtls.peers.slice(before), ['probe-client'], 'the backend saw the client certificate');
  t.match(r.lines['backend nocert'], /^FAIL backend nocert .*\(TLS: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED/);
  t.equal(r.code, 1, 'one probe failed');
});

t.test('an unreadable tls.ca file is a failure, named', async (t) => {
  const r = await probe('missing', `tls: { ca: "${join(dir, 'nope.pem')}" }`);
  t.equal(r.code, 1);
  t.match(r.stdout, /^FAIL tls\.ca .*cannot read tls\.ca .*nope\.pem: ENOENT/m);
});
