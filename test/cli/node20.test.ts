// Node 20 is supported cleanly: no runtime warning on any command, and no runtime dependency that asks for Node 22.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { ROOT, runCli } from '../helpers/spawn.js';

t.test('--version and check-config print no WARNING line', async (t) => {
  const f = join(mkdtempSync(join(tmpdir(), 'node20-')), 'ok.yaml');
  writeFileSync(
    f,
    `session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [{ name: k, sha256: "${'0'.repeat(64)}", subject: s }]
backends: [{ name: demo, http: { url: "http://127.0.0.1:9/mcp" } }]
`,
  );
  for (const args of [
    ['--version'],
    ['check-config', '--config', f],
    ['check-config', '--config', 'config/dev.yaml'],
  ]) {
    const r = await runCli(args, { DEMO_HTTP_URL: 'http://127.0.0.1:9/mcp' });
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    t.notMatch(r.stderr, /WARNING/, `${args.join(' ')}: no warning on stderr`);
    t.notMatch(r.stdout, /WARNING/, `${args.join(' ')}: none on stdout`);
  }
});

t.test('the cookie package every runtime dependent loads accepts this Node', async (t) => {
  const fromRoot = createRequire(join(ROOT, 'package.json'));
  const major = Number(process.versions.node.split('.')[0]);
  for (const dependent of ['@fastify/cookie', 'light-my-request']) {
    const cookie = createRequire(fromRoot.resolve(dependent)).resolve('cookie');
    const manifest = JSON.parse(readFileSync(join(dirname(cookie), '..', 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      engines?: { node?: string };
    };
    t.equal(manifest.name, 'cookie');
    const min = Number(/>=\s*(\d+)/.exec(manifest.engines?.node ?? '>=0')?.[1]);
    t.ok(
      min <= major,
      `${dependent} loads cookie@${manifest.version} (node ${manifest.engines?.node}) on Node ${major}`,
    );
    // The API both use (cookie 1.1 has cookie 2's names).
    const api = fromRoot(cookie) as Record<string, unknown>;
    for (const fn of ['parseCookie', 'stringifySetCookie']) t.type(api[fn], 'function', `${fn} exists`);
    const set = (api.stringifySetCookie as (c: object) => string)({ name: 'a', value: 'b c', httpOnly: true });
    t.equal(set, 'a=b%20c; HttpOnly');
  }
});
