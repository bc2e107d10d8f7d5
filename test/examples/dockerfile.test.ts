/**
 * The repository's Dockerfile, read instruction by instruction: the image it builds runs as a
 * non-root user, checks /healthz, carries production dependencies only and starts the CLI
 * the way the README's deployment section says (`node bin/mcp-oidc-proxy.js --config /config/proxy.yaml`).
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { last, parseDockerfile, type Stage } from '../helpers/dockerfile.js';

const root = new URL('../../', import.meta.url);
const ENTRY = ['node', 'bin/mcp-oidc-proxy.js', '--config', '/config/proxy.yaml'];

/** Does this stage install devDependencies (npm ci / npm install without --omit=dev or equivalent)? */
function installsDevDeps(stage: Stage): boolean {
  return stage.instructions.some(
    (i) =>
      i.keyword === 'RUN' &&
      /\bnpm\s+(ci|install|i)\b/.test(i.args) &&
      !/--omit[= ]dev|--only[= ]prod(uction)?|--production\b/.test(i.args),
  );
}

/** Everything wrong with the final stage, as sentences (empty: fine). */
function problems(stages: Stage[]): string[] {
  const out: string[] = [];
  const final = stages.at(-1)!;
  const user = last(final, 'USER')?.words[0];
  if (!user || /^(root|0)(:|$)/.test(user)) out.push(`final stage runs as ${user ?? 'root (no USER)'}`);
  const health = last(final, 'HEALTHCHECK');
  if (!health || health.words[0]?.toUpperCase() === 'NONE' || !health.args.includes('/healthz'))
    out.push('no HEALTHCHECK on /healthz');
  if (!final.instructions.some((i) => i.keyword === 'RUN' && /\bnpm\s+(ci|install|i)\b/.test(i.args)))
    out.push('final stage installs no dependencies');
  if (installsDevDeps(final)) out.push('final stage installs devDependencies');
  for (const copy of final.instructions.filter((i) => i.keyword === 'COPY' && i.flags.from !== undefined)) {
    const from = stages.find((s) => s.name === copy.flags.from) ?? stages[Number(copy.flags.from)];
    const sources = copy.words.slice(0, -1);
    if (sources.some((s) => /(^|\/)node_modules(\/|$)/.test(s)) && (!from || installsDevDeps(from)))
      out.push(`node_modules copied from stage ${copy.flags.from}, which installed devDependencies`);
  }
  const entry = [...(last(final, 'ENTRYPOINT')?.words ?? []), ...(last(final, 'CMD')?.words ?? [])];
  if (JSON.stringify(entry) !== JSON.stringify(ENTRY)) out.push(`starts ${JSON.stringify(entry)}`);
  for (const k of ['ENTRYPOINT', 'CMD'])
    if (last(final, k) && !last(final, k)!.args.trim().startsWith('['))
      out.push(`${k} in shell form (signals would not reach node)`);
  return out;
}

const stages = parseDockerfile(readFileSync(new URL('Dockerfile', root), 'utf8'));

t.test('the parser: stages by FROM, continuations, comments, flags, exec form', async (t) => {
  const s = parseDockerfile(
    '# syntax=docker/dockerfile:1\nARG V=22\nFROM node:22 AS build\nRUN npm ci \\\n  # a comment inside\n  ' +
      '--no-audit\nFROM node:22-slim\nCOPY --from=build --chown=node /app/dist ./dist\nCMD ["node", "x.js"]\n',
  );
  t.equal(s.length, 2);
  t.equal(s[0]!.name, 'build');
  t.equal(
    s[0]!.instructions[0]!.words.join(' '),
    'npm ci --no-audit',
    'continuation joined, the comment inside skipped',
  );
  t.same(s[1]!.instructions[0]!.flags, { from: 'build', chown: 'node' });
  t.same(s[1]!.instructions[0]!.words, ['/app/dist', './dist']);
  t.same(last(s[1]!, 'CMD')!.words, ['node', 'x.js']);
  t.throws(() => parseDockerfile('RUN true\n'), /before FROM/);
});

t.test('the checks catch what they are for', async (t) => {
  const bad = parseDockerfile(
    'FROM node:22 AS build\nRUN npm ci\nFROM node:22-slim\nCOPY --from=build /app/node_modules ' +
      './node_modules\nHEALTHCHECK NONE\nCMD node bin/mcp-oidc-proxy.js\n',
  );
  t.same(problems(bad), [
    'final stage runs as root (no USER)',
    'no HEALTHCHECK on /healthz',
    'final stage installs no dependencies',
    'node_modules copied from stage build, which installed devDependencies',
    'starts ["node","bin/mcp-oidc-proxy.js"]',
    'CMD in shell form (signals would not reach node)',
  ]);
  t.same(problems(parseDockerfile('FROM node\nUSER 0\nRUN npm install\n')).slice(0, 1), ['final stage runs as 0']);
  t.ok(
    problems(parseDockerfile('FROM node\nUSER node\nRUN npm install\n')).includes(
      'final stage installs devDependencies',
    ),
  );
});

t.test(
  'the repository Dockerfile: non-root, /healthz, production dependencies, the CLI with /config/proxy.yaml',
  async (t) => {
    t.ok(stages.length >= 2, 'a build stage and a runtime stage');
    t.same(problems(stages), []);
    const final = stages.at(-1)!;
    t.match(last(final, 'HEALTHCHECK')!.args, /127\.0\.0\.1:8080\/healthz/);
    t.ok(
      final.instructions.some((i) => i.keyword === 'ENV' && /NODE_ENV=production/.test(i.args)),
      'NODE_ENV=production',
    );
  },
);

t.test('what the image starts exists: the package bin, and every file the final stage copies in', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { bin: Record<string, string> };
  t.equal(pkg.bin['mcp-oidc-proxy'], ENTRY[1]);
  t.ok(existsSync(new URL(ENTRY[1]!, root)));
  const final = stages.at(-1)!;
  for (const copy of final.instructions.filter((i) => i.keyword === 'COPY' && i.flags.from === undefined)) {
    for (const src of copy.words.slice(0, -1)) t.ok(existsSync(new URL(src, root)), `${src} is in the build context`);
  }
  t.ok(
    final.instructions.some((i) => i.keyword === 'COPY' && i.words[0] === 'bin'),
    'bin/ copied into the image',
  );
  const ignored = readFileSync(new URL('.dockerignore', root), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const dir of ['bin', 'config', 'examples', 'src'])
    t.notOk(ignored.includes(dir), `${dir} is not excluded from the context`);
});
