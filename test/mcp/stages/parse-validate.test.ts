// The parse and validate stages on their own: one McpRequest per body, refusals before policy.
import t from 'tap';
import { BackendSchema } from '../../../src/config/schema.js';
import { makePrincipal } from '../../../src/identity/principal.js';
import { parse } from '../../../src/mcp/stages/parse.js';
import { MAX_JSON_DEPTH, validate } from '../../../src/mcp/stages/validate.js';
import { HEADER_MISMATCH } from '../../../src/mcp/stateless.js';

const alice = makePrincipal({ sub: 'alice', groups: ['admin'], scopes: 'mcp', source: 'bearer' });
const http = BackendSchema.parse({ name: 'b', http: { url: 'http://127.0.0.1:9/mcp' } });
const ruled = BackendSchema.parse({ name: 'r', http: { url: 'http://127.0.0.1:9/mcp' }, tools: [{ match: '*' }] });
const json = { 'content-type': 'application/json' };
const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
/** The status of the coded error `fn` throws (undefined: it did not throw). */
function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { statusCode?: number }).statusCode;
  }
  return undefined;
}
const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } };

t.test('a body is parsed once into messages; a batch keeps its array', async (t) => {
  const one = parse({ method: 'POST', headers: { ...json, 'mcp-session-id': 's1' } }, body(call), {
    principal: alice,
    backend: http,
  });
  t.equal(one.messages.length, 1);
  t.equal(one.messages[0], one.json!.value, 'the message is the parsed value itself, not a copy');
  t.equal(one.batch, false);
  t.equal(one.sessionId, 's1');
  const many = parse({ method: 'POST', headers: json }, body([call, { ...call, id: 2 }]), {
    principal: alice,
    backend: http,
  });
  t.equal(many.batch, true);
  t.equal(many.messages, many.json!.value, 'a batch is its own message list');
  t.equal(
    statusOf(() => parse({ method: 'POST', headers: json }, body('{"jsonrpc":'), { principal: alice, backend: http })),
    400,
  );
  t.equal(
    statusOf(() => parse({ method: 'POST', headers: json }, Buffer.alloc(0), { principal: alice, backend: http })),
    400,
    'an empty POST body is not JSON',
  );
  t.equal(
    statusOf(() =>
      parse({ method: 'POST', headers: json }, Buffer.from([0x22, 0xff, 0x22]), { principal: alice, backend: http }),
    ),
    400,
    'invalid UTF-8 is not JSON',
  );
});

t.test('GET and DELETE are not parsed', async (t) => {
  const get = parse({ method: 'GET', headers: { 'mcp-session-id': 's' } }, undefined, {
    principal: alice,
    backend: http,
  });
  t.same(get.messages, []);
  t.equal(get.json, undefined);
  t.equal(get.sessionId, 's');
});

t.test('a 2026-07-28 call whose policy cannot depend on its body is judged from its headers, unparsed', async (t) => {
  const headers = { ...json, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' };
  const fast = parse({ method: 'POST', headers }, body(call), { principal: alice, backend: http });
  t.same(fast.declared, { method: 'tools/call', name: 'echo' });
  t.equal(fast.json, undefined);
  t.equal(
    parse({ method: 'POST', headers }, body(call), { principal: alice, backend: ruled }).declared,
    undefined,
    'tool rules: the body is read',
  );
  t.equal(
    parse({ method: 'POST', headers }, body(call), { principal: alice, backend: http, auditArguments: new Set() })
      .declared,
    undefined,
    'audited arguments: the body is read',
  );
  t.equal(
    parse(
      { method: 'POST', headers },
      body('{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"echo"}}'),
      { principal: alice, backend: http },
    ).declared,
    undefined,
    'a repeated key: the parsing path refuses it',
  );
});

t.test('validate refuses what a backend could read differently', async (t) => {
  // `ruled`: the body is always read (with no rules, a well-formed 2026-07-28 call would skip parsing).
  const req = (v: unknown, headers: Record<string, string> = {}) =>
    validate(
      parse({ method: 'POST', headers: { ...json, ...headers } }, body(v), { principal: alice, backend: ruled }),
      { ...json, ...headers },
    );
  t.equal(req(call), undefined);
  t.equal(
    statusOf(() => req('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}}')),
    400,
  );
  t.throws(
    () => req('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","n\\u0061me":"rm"}}'),
    { message: /duplicate key "name"/ },
    'keys compare decoded',
  );
  t.throws(() => req('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1)), { message: /nested deeper/ });
  t.throws(() => req([]), { message: /empty batch/ });
  t.throws(() => req([call, 3]), { message: /not a JSON-RPC message or batch/ });
  t.throws(() => req({ ...call, params: { name: 7 } }), { message: /needs params.name as a string/ });
  t.throws(() => req({ jsonrpc: '2.0', method: 'tools/list' }), { message: /needs an id/ });
  t.equal(
    statusOf(() => req('{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}')),
    400,
    'a number JSON reads as Infinity is refused as an id',
  );
  t.equal(req({ jsonrpc: '2.0', method: 'notifications/initialized' }), undefined);
  const mismatch = req(call, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'other' });
  t.equal(mismatch?.code, HEADER_MISMATCH);
  t.match(mismatch?.message, /Mcp-Name header value 'other' does not match body value 'echo'/);
});
