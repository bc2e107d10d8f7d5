/**
 * What the MCP conformance suite (@modelcontextprotocol/conformance) needs to run: Node >= 22 and
 * the suite's CLI. The project runs on Node 20, so a Node 22 binary is installed from the npm
 * registry (`node-<platform>-<arch>@22`) into a cache directory, once; the suite comes from
 * node_modules (the devDependency) or, when that is missing, is installed next to it at the
 * version package.json pins. `npm test` calls this before tap; the conformance test calls it too.
 *
 *   node scripts/conformance-env.mjs     # install if missing, print {"node": …, "cli": …}
 *   MCP_CONFORMANCE_CACHE=/tmp/x …       # another cache directory
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SUITE = '@modelcontextprotocol/conformance';
const NODE_MAJOR = 22;

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The suite's version, as package.json pins it (a devDependency). */
export function suiteVersion() {
  const pkg = readJson(join(ROOT, 'package.json'));
  const v = pkg.devDependencies?.[SUITE];
  if (!v) throw new Error(`package.json has no devDependency ${SUITE}`);
  return v;
}

/** `npm install` of `specs` into `dir` (its own package.json), atomically: a half-done install is never used. */
function npmInstall(dir, specs) {
  if (existsSync(join(dir, 'ready'))) return;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'conformance-env', private: true }));
  process.stderr.write(`conformance-env: installing ${specs.join(' ')} into ${dir}\n`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...specs], {
    cwd: tmp,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  writeFileSync(join(tmp, 'ready'), new Date().toISOString());
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** A Node >= 22 binary: this one when it is new enough, else `node-<platform>-<arch>@22` from the registry. */
function node22(cache) {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return process.execPath;
  const pkg = `node-${process.platform}-${process.arch}`;
  const dir = join(cache, `${pkg}-${NODE_MAJOR}`);
  npmInstall(dir, [`${pkg}@${NODE_MAJOR}`]);
  return join(dir, 'node_modules', pkg, 'bin', 'node');
}

/** The suite's CLI entry: node_modules' copy at the pinned version, else one installed into the cache. */
function suiteCli(cache) {
  const version = suiteVersion();
  const local = join(ROOT, 'node_modules', SUITE);
  if (existsSync(join(local, 'package.json')) && readJson(join(local, 'package.json')).version === version)
    return join(local, 'dist', 'index.js');
  const dir = join(cache, `conformance-${version}`);
  npmInstall(dir, [`${SUITE}@${version}`]);
  return join(dir, 'node_modules', SUITE, 'dist', 'index.js');
}

/** Installs what is missing; returns the Node 22 binary and the suite's CLI script. */
export function conformanceEnv() {
  const cache = resolve(process.env.MCP_CONFORMANCE_CACHE ?? join(ROOT, 'node_modules', '.cache', 'mcp-conformance'));
  mkdirSync(cache, { recursive: true });
  return { node: node22(cache), cli: suiteCli(cache) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(conformanceEnv())}\n`);
}
