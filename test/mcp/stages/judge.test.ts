// The judge stage on its own: allow list, named calls, batches, step-up, list rewrite, dry-run.
import t from 'tap';
import { BackendSchema } from '../../../src/config/schema.js';
import { makePrincipal } from '../../../src/identity/principal.js';
import { POLICY_DENIED, type RpcMessage } from '../../../src/mcp/jsonrpc.js';
import type { McpRequest } from '../../../src/mcp/request.js';
import { judge } from '../../../src/mcp/stages/judge.js';

const alice = makePrincipal({ sub: 'alice', groups: ['admin'], scopes: ['mcp'], source: 'bearer' });
const bob = makePrincipal({ sub: 'bob', groups: ['support'], scopes: ['mcp'], source: 'bearer' });
const b = BackendSchema.parse({
  name: 'b',
  http: { url: 'http://127.0.0.1:9/mcp' },
  allow: { groups: ['admin', 'support'] },
  tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: 'write_*', scopes: ['write'] }, { match: '*' }],
});
const post = (messages: object[], batch = false): McpRequest => ({
  method: 'POST',
  messages: messages as RpcMessage[],
  batch,
  sessionId: 's',
});
const tool = (id: number, name: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name } });

t.test('a refused call is answered 200 with a JSON-RPC error; allowed ones pass judged', async (t) => {
  const ok = judge(alice, b, post([tool(1, 'delete_all')]));
  t.equal(ok.refuse, undefined);
  t.equal(ok.judged, true, 'a rule decided: the backend gets what policy read');
  t.equal(ok.entries[0]!.decision, 'allow');
  const no = judge(bob, b, post([tool(7, 'delete_all')]));
  t.equal(no.refuse?.status, 200);
  t.same(no.refuse?.body, {
    jsonrpc: '2.0',
    id: 7,
    error: { code: POLICY_DENIED, message: 'access denied: you may not use tool "delete_all"' },
  });
  t.equal(no.entries[0]!.session, 's');
});

t.test('a batch with one refused call is refused whole (403)', async (t) => {
  const v = judge(bob, b, post([tool(1, 'echo'), tool(2, 'delete_all')], true));
  t.equal(v.refuse?.status, 403);
  t.equal(v.entries.length, 2);
});

t.test('a missing scope is a step-up refusal naming the scopes', async (t) => {
  const v = judge(alice, b, post([tool(3, 'write_file')]));
  t.equal(v.refuse?.status, 403);
  t.same(v.refuse?.stepUp, ['write']);
});

t.test('outside the allow list: 403 for any method', async (t) => {
  const carol = makePrincipal({ sub: 'carol', groups: ['guests'], source: 'bearer' });
  t.equal(judge(carol, b, { method: 'GET', messages: [], batch: false }).refuse?.status, 403);
  t.equal(
    judge(carol, b, { method: 'GET', messages: [], batch: false }, { dryRun: true }).refuse,
    undefined,
    'dry-run: logged, not refused',
  );
});

t.test('list answers are rewritten for the ids that asked', async (t) => {
  const v = judge(bob, b, post([{ jsonrpc: '2.0', id: 4, method: 'tools/list' }]));
  const tools = { tools: [{ name: 'echo' }, { name: 'delete_all' }] };
  t.same(
    (v.rewrite!({ jsonrpc: '2.0', id: 4, result: tools }).result as typeof tools).tools.map((x) => x.name),
    ['echo'],
  );
  t.same(v.rewrite!({ jsonrpc: '2.0', id: 5, result: tools }).result, tools, 'another id is left alone');
});

t.test('a declared (headers-only) call is judged like the message it names', async (t) => {
  const open = BackendSchema.parse({ name: 'o', http: { url: 'http://127.0.0.1:9/mcp' } });
  const v = judge(alice, open, {
    method: 'POST',
    messages: [],
    batch: false,
    declared: { method: 'tools/call', name: 'echo' },
  });
  t.equal(v.entries[0]!.name, 'echo');
  t.equal(v.entries[0]!.method, 'tools/call');
});
