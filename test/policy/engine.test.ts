// Table-driven tests of the pure policy engine.
import t from 'tap';
import { BackendSchema } from '../../src/config/schema.js';
import type { Principal } from '../../src/identity/principal.js';
import { backendDecision, callDecision, filterListResult, globMatch } from '../../src/policy/engine.js';
import { rewriteJsonBody, sseRewriter } from '../../src/mcp/response-rewrite.js';

const who = (sub: string, extra: Partial<Principal> = {}): Principal => ({
  sub,
  groups: [],
  scopes: [],
  source: 'session',
  ...extra,
});
const alice = who('alice', { email: 'alice@example.com', groups: ['admin', 'support'] });
const bob = who('bob', { email: 'bob@example.com', groups: ['support'] });
const carol = who('carol', { email: 'carol@other.org' });
const bot = who('svc:ci', { source: 'apikey', apiKey: 'ci-bot', scopes: ['read'] });

const tickets = BackendSchema.parse({
  name: 'tickets',
  http: { url: 'http://127.0.0.1:9/mcp' },
  allow: { groups: ['support'], domains: [], apiKeys: ['ci-bot'] },
  tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: 'internal_*', deny: true }, { match: '*' }],
  resources: [{ match: 'demo://*' }],
});
const open = BackendSchema.parse({ name: 'open', http: { url: 'http://127.0.0.1:9/mcp' } });

t.test('globs', async (t) => {
  for (const [g, v, ok] of [
    ['delete_*', 'delete_everything', true],
    ['delete_*', 'undelete', false],
    ['*', '', true],
    ['a.b', 'axb', false],
    ['demo://*', 'demo://readme', true],
    ['x*y*z', 'x-y-z', true],
  ] as const)
    t.equal(globMatch(g, v), ok, `${g} ~ ${v}`);
});

t.test('backend allow list', async (t) => {
  const cases: Array<[Principal, boolean, RegExp]> = [
    [alice, true, /groups/],
    [bob, true, /groups/],
    [carol, false, /not in the backend allow list/],
    [bot, true, /apiKeys/],
  ];
  for (const [p, allow, reason] of cases) {
    const d = backendDecision(p, tickets);
    t.equal(d.allow, allow, p.sub);
    t.match(d.reason, reason);
  }
  t.equal(backendDecision(carol, open).allow, true, 'no allow list: any authenticated principal');
});

t.test('tool rules: first match wins, default deny', async (t) => {
  const cases: Array<[Principal, string, boolean, string | undefined]> = [
    [alice, 'delete_everything', true, 'tools[0] delete_*'],
    [bob, 'delete_everything', false, 'tools[0] delete_*'],
    [alice, 'internal_debug', false, 'tools[1] internal_*'],
    [bob, 'whoami', true, 'tools[2] *'],
  ];
  for (const [p, name, allow, rule] of cases) {
    const d = callDecision(p, tickets, 'tools', name);
    t.equal(d.allow, allow, `${p.sub} → ${name}`);
    t.equal(d.rule, rule);
  }
  const d = callDecision(bob, tickets, 'resources', 'file:///etc/passwd');
  t.equal(d.allow, false);
  t.match(d.reason, /default deny/);
  t.equal(callDecision(bob, tickets, 'prompts', 'anything').allow, true, 'no prompt rules: allowed');
  t.equal(
    callDecision(carol, open, 'tools', 'delete_everything').allow,
    true,
    'a backend without rules allows every tool',
  );
});

t.test('list results are filtered by the same decisions', async (t) => {
  const result = {
    tools: [{ name: 'whoami' }, { name: 'delete_everything' }, { name: 'internal_debug' }],
    nextCursor: 'c',
  };
  t.same(filterListResult(bob, tickets, 'tools/list', result), { tools: [{ name: 'whoami' }], nextCursor: 'c' });
  t.same(filterListResult(alice, tickets, 'tools/list', result), {
    tools: [{ name: 'whoami' }, { name: 'delete_everything' }],
    nextCursor: 'c',
  });
  t.same(filterListResult(bob, open, 'tools/list', result), result, 'no rules: untouched');
});

t.test('rewriting JSON bodies and SSE streams', async (t) => {
  const rewrite = (m: any) => (m.id === 1 ? { ...m, result: { tools: [] } } : m);
  t.equal(
    rewriteJsonBody('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"x"}]}}', rewrite),
    '{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}',
  );
  t.equal(rewriteJsonBody('not json', rewrite), 'not json');
  const sse = sseRewriter(rewrite);
  const chunks: string[] = [];
  sse.on('data', (c: Buffer) => chunks.push(c.toString()));
  sse.write('event: message\nid: 7\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n');
  sse.write('event: message\ndata: {"jsonrpc":"2.0","id":1,');
  sse.end('"result":{"tools":[{"name":"secret"}]}}\n\n');
  await new Promise((r) => sse.once('end', r));
  const out = chunks.join('');
  t.match(out, 'id: 7\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n', 'other events untouched');
  t.match(
    out,
    'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[]}}\n\n',
    'an event split across chunks is rewritten whole',
  );
  t.notMatch(out, 'secret');
});

t.test('lint: unreachable rules are reported', async (t) => {
  const { lintPolicy } = await import('../../src/policy/lint.js');
  const { loadConfig } = await import('../../src/app/config.js');
  const { config } = loadConfig({
    env: {},
    doc: {
      session: { keys: [Buffer.alloc(32, 1).toString('base64')] },
      apiKeys: [{ name: 'k', sha256: 'a'.repeat(64), subject: 'k' }],
      backends: [
        {
          name: 'a',
          http: { url: 'http://127.0.0.1:9/mcp' },
          allow: { groups: ['x'] },
          tools: [{ match: 'delete_*' }, { match: 'delete_all' }, { match: '*' }, { match: 'echo' }],
        },
      ],
    },
  });
  const warnings = lintPolicy(config!);
  t.match(
    warnings.join('\n'),
    'backends[0].tools[1] ("delete_all") is unreachable: tools[0] ("delete_*") matches first',
  );
  t.match(warnings.join('\n'), 'backends[0].tools[3] ("echo") is unreachable');
  t.match(warnings.join('\n'), 'nothing configured supplies groups');
  t.equal(warnings.length, 3);
});
