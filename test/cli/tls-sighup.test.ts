/**
 * The CLI with `server.tls`: it says it listens on https, and SIGHUP re-reads the certificate.
 * The files sit behind a directory symlink that is swapped (as a Kubernetes Secret volume
 * is): the watched directory does not change, so only the signal can bring the new pair in.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { hashApiKey } from '../../src/tokens/apikeys.js';
import { TestCa, type Issued } from '../helpers/cert-authority.js';
import { freePort } from '../helpers/ports.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { BIN, ROOT, exited, outputMatches } from '../helpers/spawn.js';

const ca = new TestCa();

function fingerprintAt(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: ca.pem(), servername: 'localhost' }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

t.test('SIGHUP brings in a certificate swapped behind a directory symlink', async (t) => {
  const dir = ca.dir;
  const place = (name: string, c: Issued) => {
    mkdirSync(join(dir, name));
    copyFileSync(c.cert, join(dir, name, 'tls.crt'));
    copyFileSync(c.key, join(dir, name, 'tls.key'));
  };
  const first = ca.server();
  const second = ca.server();
  place('v1', first);
  place('v2', second);
  symlinkSync(join(dir, 'v1'), join(dir, 'live'));
  const port = await freePort();
  const config = join(dir, 'proxy.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { port, tls: { cert: join(dir, 'live', 'tls.crt'), key: join(dir, 'live', 'tls.key') } },
      session: { keys: [TEST_SESSION_KEY] },
      apiKeys: [{ name: 'ci', sha256: hashApiKey('k'.repeat(20)), subject: 'svc:ci' }],
      backends: [{ name: 'demo', http: { url: 'http://127.0.0.1:9/mcp' } }],
    }),
  );
  const child = spawn(process.execPath, [BIN, '--config', config, '--log-format', 'json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH! },
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await outputMatches(child, () => out, new RegExp(`listening on https://127\\.0\\.0\\.1:${port}`));
  t.equal(await fingerprintAt(port), first.fingerprint);

  symlinkSync(join(dir, 'v2'), join(dir, 'live.next'));
  renameSync(join(dir, 'live.next'), join(dir, 'live'));
  child.kill('SIGHUP');
  await outputMatches(child, () => out, /"event":"tls\.reloaded","trigger":"SIGHUP"/);
  t.equal(await fingerprintAt(port), second.fingerprint, 'new connections get the new certificate');

  child.kill('SIGTERM');
  t.equal(await exited(child), 0);
});
