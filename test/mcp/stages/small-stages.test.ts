// The small stages: rate-limit limiter per config block, 415, propagation's body choice.
import t from 'tap';
import { BackendSchema } from '../../../src/config/schema.js';
import { makePrincipal } from '../../../src/identity/principal.js';
import type { McpRequest } from '../../../src/mcp/request.js';
import { rateLimitStage } from '../../../src/mcp/stages/limit.js';
import { propagate, type PropagateDeps } from '../../../src/mcp/stages/propagate.js';
import { readBody } from '../../../src/mcp/stages/read-body.js';
import { META_USER_KEY } from '../../../src/propagation/meta.js';

const alice = makePrincipal({ sub: 'alice', groups: 'admin,ops', scopes: 'mcp read', source: 'bearer' });

t.test('makePrincipal normalises and freezes', async (t) => {
  t.same(alice.groups, ['admin', 'ops']);
  t.same(alice.scopes, ['mcp', 'read']);
  t.ok(Object.isFrozen(alice) && Object.isFrozen(alice.groups) && Object.isFrozen(alice.scopes));
  t.notOk('email' in alice, 'undefined fields are left out');
});

t.test('one limiter per rateLimit block, none without one', async (t) => {
  const made: unknown[] = [];
  const keys: string[] = [];
  const limit = rateLimitStage((block) => {
    made.push(block);
    return async (_req, key) => void keys.push(key);
  });
  const limited = {
    name: 'l',
    config: BackendSchema.parse({ name: 'l', http: { url: 'http://x/' }, rateLimit: { max: 1, window: 1000 } }),
  };
  const free = { name: 'f', config: BackendSchema.parse({ name: 'f', http: { url: 'http://x/' } }) };
  t.equal(limit({} as never, free, alice), undefined);
  await limit({} as never, limited, alice);
  await limit({} as never, limited, alice);
  t.equal(made.length, 1);
  t.same(keys, ['l:user:alice', 'l:user:alice']);
});

t.test('a POST that is not JSON is 415; other methods pass their bytes', async (t) => {
  t.throws(
    () => readBody({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.from('x') } as never),
    { code: 'UNSUPPORTED_MEDIA_TYPE' } as never,
  );
  t.ok(
    readBody({
      method: 'POST',
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      body: Buffer.from('{}'),
    } as never),
  );
  t.equal(readBody({ method: 'GET', headers: {} } as never), undefined);
});

t.test('propagation: client bytes unless policy judged or _meta changes them; stdio gets no headers', async (t) => {
  const deps: PropagateDeps = {
    signer: { sign: async () => 'jwt' } as never,
    tokens: {} as never,
    publicUrl: new URL('https://proxy.example'),
  };
  const raw = Buffer.from('{"jsonrpc":"2.0", "id":1,"method":"tools/list"}');
  const value = JSON.parse(raw.toString());
  const request: McpRequest = { method: 'POST', raw, json: { value }, messages: [value], batch: false };
  const req = { headers: { 'x-forwarded-user': 'mallory', cookie: 'a=b' }, ip: '10.0.0.1' } as never;
  const http = { config: BackendSchema.parse({ name: 'h', http: { url: 'http://x/' } }), audience: ['h'] } as never;
  const out = await propagate(req, http, alice, request, { entries: [] }, deps);
  t.equal(out.body, undefined, 'forwarded byte for byte');
  t.equal(out.headers['x-forwarded-user'], 'alice');
  t.equal(out.headers['x-mcp-proxy-assertion'], 'jwt');
  t.notOk(out.headers.cookie);
  t.equal(
    (await propagate(req, http, alice, request, { entries: [], judged: true }, deps)).body?.toString(),
    JSON.stringify(value),
    'judged: re-serialised',
  );
  const withMeta = {
    config: BackendSchema.parse({ name: 'm', http: { url: 'http://x/' }, identity: { meta: true } }),
    audience: ['m'],
  } as never;
  const meta = JSON.parse((await propagate(req, withMeta, alice, request, { entries: [] }, deps)).body!.toString());
  t.equal(meta.params._meta[META_USER_KEY].sub, 'alice');
  const stdio = { config: BackendSchema.parse({ name: 's', stdio: { command: 'true' } }), audience: ['s'] } as never;
  t.same(await propagate(req, stdio, alice, request, { entries: [] }, deps), { headers: {} });
});
