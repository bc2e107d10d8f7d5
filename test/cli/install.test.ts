// The install paths the README gives: `npm pack` + `npm install -g <tarball>`, and `npx <checkout>`.
// The tarball is packed with --ignore-scripts from the dist/ the CLI tests already built (`prepare` rebuilding
// dist/ here would pull it from under tests running alongside); that pack builds dist/ is checked on package.json.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { ROOT } from '../helpers/spawn.js';

const run = promisify(execFile);
const npm = join(dirname(process.execPath), 'npm');
const npx = join(dirname(process.execPath), 'npx');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'install-'));
// PATH with this Node first: the bin's `#!/usr/bin/env node` and npm's scripts find it.
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

t.test('package.json: dist/ built whenever it is packed or installed from a checkout', async (t) => {
  t.match(pkg.scripts.prepare, 'npm run build', 'prepare (run by npm ci and npm pack) builds dist/');
  t.same(pkg.bin, { 'mcp-oidc-proxy': 'bin/mcp-oidc-proxy.js' });
  for (const f of ['bin', 'dist', 'config']) t.ok(pkg.files.includes(f), `files has ${f}`);
});

t.test('what dist/ imports at run time is a dependency, never a devDependency', async (t) => {
  const specifiers = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js'))
        for (const m of readFileSync(p, 'utf8').matchAll(/(?:from|import\()\s*['"]([^'"./][^'"]*)['"]/g))
          specifiers.add(m[1]!);
    }
  };
  walk(join(ROOT, 'dist'));
  t.ok(specifiers.size > 10, `${specifiers.size} packages imported`);
  for (const s of specifiers) {
    if (s.startsWith('node:') || builtinModules.includes(s)) continue;
    const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
    t.ok(pkg.dependencies[name], `${s} is in dependencies`);
  }
});

t.test('npm pack → npm install -g → mcp-oidc-proxy runs', async (t) => {
  const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    env,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const paths = packed!.files.map((f) => f.path);
  for (const p of ['bin/mcp-oidc-proxy.js', 'dist/cli.js', 'dist/web/assets', 'config/example.yaml'])
    t.ok(
      paths.some((x) => x.startsWith(p)),
      `the tarball holds ${p}`,
    );
  t.notOk(
    paths.some((x) => /^(src|test|bench)\//.test(x)),
    'no sources or tests in it',
  );

  const prefix = join(work, 'prefix');
  const tgz = join(work, packed!.filename);
  // Offline from the local cache when it has everything (it does once `npm ci` ran); else the registry.
  await run(npm, ['install', '-g', '--prefix', prefix, '--prefer-offline', tgz], { cwd: work, env });
  const bin = join(prefix, 'bin', 'mcp-oidc-proxy');
  const version = await run(bin, ['--version'], { cwd: work, env });
  t.equal(version.stdout, `${pkg.version}\n`);
  t.equal(version.stderr, '', 'nothing on stderr');

  const config = join(work, 'proxy.yaml');
  writeFileSync(
    config,
    `session: { keys: [${TEST_SESSION_KEY}] }
apiKeys: [{ name: k, sha256: "${'0'.repeat(64)}", subject: s }]
backends: [{ name: demo, http: { url: "http://127.0.0.1:9/mcp" } }]
`,
  );
  const checked = await run(bin, ['check-config', '--config', config], { cwd: work, env });
  t.match(checked.stdout, 'configuration OK');
  t.notMatch(checked.stderr, /WARNING/);
  // The README's Okta quick start, steps 3 and 4, as written: its proxy.yaml, its exports, its check-config line.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const okta = readme.slice(readme.indexOf('## Quick start with Okta'));
  const yaml = /\*\*3\. Write `proxy\.yaml`\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(okta)![1]!;
  const step4 = /\*\*4\. Run it\*\*[\s\S]*?```sh\n([\s\S]*?)```/.exec(okta)![1]!.split('\n');
  const quick = mkdtempSync(join(work, 'okta-'));
  writeFileSync(join(quick, 'proxy.yaml'), yaml);
  const script = [
    ...step4.filter((l) => l.startsWith('export ')).map((l) => l.replace("'…'", "'from-the-okta-app'")),
    step4.find((l) => l.includes(' check-config '))!,
  ].join('\n');
  t.match(script, /^mcp-oidc-proxy check-config --config proxy\.yaml/m);
  const quickEnv = { ...env, PATH: `${join(prefix, 'bin')}:${env.PATH}` };
  const ran = await run('sh', ['-ec', script], { cwd: quick, env: quickEnv });
  t.match(ran.stdout, 'configuration OK', 'the quick start config passes check-config');
  t.match(ran.stdout, '"redirectUri": "http://localhost:8080/oauth/callback"', 'the redirect URI of step 1');
  // The installed copy's own examples and configs are there to start from.
  const example = join(prefix, 'lib/node_modules/mcp-oidc-proxy/config/example.yaml');
  t.ok(readFileSync(example, 'utf8').length > 100, 'config/example.yaml is installed');
});

t.test('npx <checkout> --help', async (t) => {
  const cwd = mkdtempSync(join(work, 'npx-'));
  // --ignore-scripts: a first `npx <checkout>` (nothing cached for this path yet) runs `prepare`, which rebuilds
  // dist/ in the checkout, from under the tests running alongside; dist/ is built already.
  const r = await run(npx, ['--yes', '--prefer-offline', '--ignore-scripts', ROOT, '--help'], { cwd, env });
  t.match(r.stdout, /^mcp-oidc-proxy \d+\.\d+\.\d+ — /);
  t.match(r.stdout, '--public-url');
});
