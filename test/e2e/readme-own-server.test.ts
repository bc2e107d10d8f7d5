// The README's "Your own stdio server, behind the dev IdP" path, run from README.md itself: its server, its
// YAML, its start command (on the built bin/) and its Inspector lines (as the real MCP SDK client, with the
// same URL, header, method and arguments). The fenced blocks follow `<!-- own-server:NAME -->` markers.
import t from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../helpers/ports.js';
import { BIN, ROOT, exited, runCli, startAndWait } from '../helpers/spawn.js';

const readme = readFileSync(`${ROOT}README.md`, 'utf8');
/** The fenced block right after `<!-- own-server:NAME -->`. */
function block(name: string): string {
  const m = readme.match(new RegExp(`<!-- own-server:${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``));
  if (!m) throw new Error(`README.md has no block marked own-server:${name}`);
  return m[1]!;
}
/** Shell lines of a block: continuations joined, comments dropped. */
const commands = (text: string) =>
  text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
/** Words of one command line: plain and double-quoted words (all the README uses). */
const words = (line: string) => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);

const dir = mkdtempSync(join(tmpdir(), 'readme-own-server-'));
// "in its own folder, after npm install @modelcontextprotocol/sdk zod there": the project's node_modules has both.
symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
writeFileSync(join(dir, 'server.mjs'), block('server'));

const config = parse(block('config')) as { backends: Array<{ name: string; stdio: Record<string, unknown> }> };
t.equal(config.backends.length, 1, 'one backend');
const backend = config.backends[0]!;
t.same([backend.stdio.command, backend.stdio.args], ['node', ['server.mjs']], 'the server, as started by hand');
backend.stdio.cwd = dir; // "the folder it runs in": where this test saved server.mjs
writeFileSync(join(dir, 'my-proxy.yaml'), stringify(config));

const [exportLine, startLine, ...more] = commands(block('start'));
t.same(more, [], 'two start lines');
t.match(exportLine, /^export SESSION_KEY=\$\(openssl rand -base64 32\)$/);
const SESSION_KEY = execFileSync('sh', ['-c', `${exportLine}; printf %s "$SESSION_KEY"`], { encoding: 'utf8' });
t.equal(Buffer.from(SESSION_KEY, 'base64').length, 32, 'a 32-byte key');
const start = words(startLine!);
t.same(start.slice(0, 2), ['node', 'bin/mcp-oidc-proxy.js'], 'the start line runs the package bin');

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = { SESSION_KEY };

t.test('check-config --probe, as the README suggests, passes', async (t) => {
  const r = await runCli(['check-config', '--config', join(dir, 'my-proxy.yaml'), '--probe'], env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /ok +backend mine command "node"/);
  t.match(readme, '`node bin/mcp-oidc-proxy.js check-config --config my-proxy.yaml --probe`', 'the line run here');
});

t.test('the start line, then every Inspector line through the SDK client', async (t) => {
  // README: "--port N if 8080 is taken; the URLs below follow".
  const args = [...start.slice(2), '--port', String(port)];
  const { child, stderr, output } = await startAndWait(BIN, args, env, `${base}/healthz`, 20_000, dir);
  t.teardown(() => child.kill('SIGKILL'));
  t.match(stderr(), `mcp-oidc-proxy 0.1.0 listening on ${base}`, 'the line the README says to expect');
  t.notMatch(output(), 'Server listening at', "only the proxy's own listening line, not Fastify's");

  const expected = readme.match(/the second prints `(\{[^`]*\})`/);
  t.ok(expected, 'the README says what tools/call prints');
  const inspector = commands(block('inspector'));
  t.equal(inspector.length, 2, 'tools/list, then tools/call');
  const seen: Record<string, unknown> = {};
  for (const line of inspector) {
    const w = words(line);
    t.same(w.slice(0, 3), ['npx', '@modelcontextprotocol/inspector@latest', '--cli'], line);
    const url = new URL(w[3]!.replace('http://127.0.0.1:8080', base));
    const opt = (name: string) => w.filter((_x, i) => w[i - 1] === name);
    t.same(opt('--transport'), ['http']);
    const [name, ...value] = opt('--header')[0]!.split(': ');
    const headers = { [name!]: value.join(': ') };
    const client = new Client({ name: 'readme-inspector', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    const tools = (await client.listTools()).tools;
    const [method] = opt('--method');
    if (method === 'tools/list') seen.list = tools.map((x) => x.name);
    else {
      t.equal(method, 'tools/call');
      const [tool] = opt('--tool-name');
      const schema = tools.find((x) => x.name === tool)?.inputSchema.properties as Record<string, { type: string }>;
      // The Inspector types each --tool-arg by the tool's input schema, as done here.
      const toolArgs = Object.fromEntries(
        opt('--tool-arg').map((a) => {
          const [k, v] = a.split('=') as [string, string];
          return [k, schema[k]?.type === 'number' ? Number(v) : v];
        }),
      );
      seen.call = await client.callTool({ name: tool!, arguments: toolArgs });
    }
    await client.close();
  }
  t.same(seen.list, ['add'], 'tools/list: the README server has add');
  t.same(seen.call, JSON.parse(expected![1]!), 'tools/call prints what the README says');

  const bare = await fetch(`${base}/mcp/mine`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(bare.status, 401, 'without the key: 401, as the README says');
  child.kill('SIGTERM');
  t.equal(await exited(child), 0, 'a clean stop');
});
