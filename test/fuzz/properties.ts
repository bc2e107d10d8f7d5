/**
 * Property-based fuzzing (fast-check) of what reads untrusted input: the JSON-RPC inspector
 * and policy gate, the response rewriters, the config loader, and whole requests against a
 * running proxy (cookies, tokens, paths, headers, bodies). `test/fuzz/fuzz.test.ts` runs a
 * small seed-fixed slice in `npm test`; `npm run fuzz` runs them at volume (test/fuzz/run.ts).
 * A property fails on any exception, hang (request timeout) or 5xx from the proxy.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import type { Client } from 'undici';
import { loadConfig } from '../../src/app/config.js';
import { BackendSchema } from '../../src/config/schema.js';
import type { Principal } from '../../src/identity/principal.js';
import { parseJson, type RpcMessage } from '../../src/mcp/jsonrpc.js';
import type { McpRequest } from '../../src/mcp/request.js';
import { judge } from '../../src/mcp/stages/judge.js';
import { parse } from '../../src/mcp/stages/parse.js';
import { validate } from '../../src/mcp/stages/validate.js';
import { rewriteJsonBody, sseRewriter } from '../../src/mcp/response-rewrite.js';

const alice: Principal = {
  sub: 'alice',
  email: 'alice@example.com',
  groups: ['admin'],
  scopes: ['mcp'],
  source: 'bearer',
};
const backend = BackendSchema.parse({
  name: 'b',
  http: { url: 'http://127.0.0.1:9/mcp' },
  tools: [
    { match: 'delete_*', deny: true },
    { match: '*', allow: { groups: ['admin'] } },
  ],
  resources: [{ match: 'secret://*', deny: true }],
});

const rpcish = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      jsonrpc: fc.constantFrom('2.0', '1.0', 2),
      id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.object()),
      method: fc.oneof(
        fc.constantFrom('tools/call', 'tools/list', 'resources/read', 'prompts/get', 'initialize', 'ping'),
        fc.string(),
      ),
      params: fc.oneof(fc.object(), fc.jsonValue()),
    },
    { requiredKeys: [] },
  ),
);

/** A body as the pipeline reads it: parse and validate answer 400 or hand over a request; judge then never throws. */
function inspect(raw: Buffer, method: string) {
  let request: McpRequest;
  try {
    request = parse({ method, headers: { 'content-type': 'application/json', 'mcp-session-id': 's' } }, raw, {
      principal: alice,
      backend,
    });
    validate(request, {});
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 400) return undefined;
    throw e;
  }
  return judge(alice, backend, request);
}

/** Judge also takes messages nobody validated (it never throws), and a refusal is always a well-formed answer. */
function unvalidated(value: unknown, method: string) {
  const parsed = parseJson(Buffer.from(JSON.stringify(value) ?? ''));
  const batch = Array.isArray(parsed?.value);
  const messages = (parsed ? (batch ? parsed.value : [parsed.value]) : []) as RpcMessage[];
  return judge(alice, backend, { method, messages, batch, sessionId: 's' });
}

/** The inspector and the gate never throw, and a refusal is always a well-formed answer. */
export const inspectorProperty = fc.property(
  fc.oneof(rpcish, fc.array(rpcish, { maxLength: 5 })),
  fc.constantFrom('POST', 'GET', 'DELETE'),
  (value, method) => {
    for (const outcome of [inspect(Buffer.from(JSON.stringify(value) ?? ''), method), unvalidated(value, method)]) {
      if (!outcome) continue;
      if (outcome.refuse && ![200, 403].includes(outcome.refuse.status))
        throw new Error(`odd refusal status ${outcome.refuse.status}`);
      for (const e of outcome.entries)
        if (e.decision !== 'allow' && e.decision !== 'deny') throw new Error('entry without a decision');
    }
  },
);

/** Arbitrary bytes as a body: parsed or not, never a throw. */
export const bytesProperty = fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
  inspect(Buffer.from(bytes), 'POST');
});

/** List-filtering rewriters take any text a backend may send. */
export const rewriteProperty = fc.property(
  fc.oneof(fc.string(), fc.json()),
  fc.array(fc.string(), { maxLength: 4 }),
  (text, chunks) => {
    const rewrite = (m: { result?: unknown }) => ({ ...m, result: m.result });
    rewriteJsonBody(text, rewrite as never);
    const t = sseRewriter(rewrite as never);
    t.on('error', () => undefined);
    for (const c of [text, ...chunks]) t.write(c);
    t.end();
  },
);

/** The config loader reports problems for any document and environment; it never throws. */
export const configProperty = fc.property(
  fc.oneof(
    fc.object(),
    fc.record(
      {
        server: fc.object(),
        oidc: fc.object(),
        backends: fc.array(fc.object(), { maxLength: 3 }),
        session: fc.object(),
        store: fc.object(),
      },
      { requiredKeys: [] },
    ),
  ),
  fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        'MCP_PROXY_SERVER_PORT',
        'MCP_PROXY_SESSION_KEYS',
        'MCP_PROXY_BACKENDS',
        'OKTA_ORG_URL',
        'DATABASE_URL',
        'MCP_PROXY_STORE_KIND',
      ),
      fc.string(),
    ),
    fc.string(),
    { maxKeys: 4 },
  ),
  (doc, env) => {
    const r = loadConfig({ doc: doc as Record<string, unknown>, env });
    if (!r.config && !r.problems.length) throw new Error('neither a config nor a problem');
  },
);

// ---- live requests ------------------------------------------------------------------------

export const FUZZ_API_KEY = 'fuzz-api-key';
export const fuzzApiKeyHash = createHash('sha256').update(FUZZ_API_KEY).digest('hex');

const b64url = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')),
  maxLength: 40,
});
const jwtish = fc.tuple(b64url, b64url, b64url).map(([a, b, c]) => `eyJ${a}.eyJ${b}.${c}`);
const headerText = fc.string({
  unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~'.split('')),
  maxLength: 80,
});
const pathPiece = fc.oneof(
  fc.constantFrom(
    'mcp',
    'echo',
    'stdio',
    'api',
    'oauth',
    'status',
    'login',
    'backends',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%00',
    'explore',
    '.well-known',
    'oauth-protected-resource',
    'jwks.json',
    'tools',
    'call',
  ),
  b64url,
);

/** Present in `present` of `present + absent` inputs. */
function rarely<T>(arb: fc.Arbitrary<T>, present = 1, absent = 4): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: absent }, { arbitrary: arb, weight: present });
}

export interface LiveRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export const liveRequest: fc.Arbitrary<LiveRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'HEAD', 'PATCH'),
  path: fc
    .tuple(
      fc.constantFrom('/mcp', '/mcp/echo', '/mcp/stdio', '/api', '/oauth', '/', '/.well-known'),
      fc.array(pathPiece, { maxLength: 3 }),
      fc.option(fc.tuple(b64url, headerText), { nil: undefined }),
    )
    .map(
      ([base, rest, q]) =>
        `${base}${rest.length ? `/${rest.join('/')}` : ''}${q ? `?${q[0]}=${encodeURIComponent(q[1])}` : ''}`,
    ),
  headers: fc
    .record({
      authorization: rarely(
        fc.oneof(
          { arbitrary: fc.constant(`Bearer ${FUZZ_API_KEY}`), weight: 3 },
          jwtish.map((j) => `Bearer ${j}`),
          headerText,
          fc.constant('Basic Zm9vOmJhcg=='),
        ),
        1,
        3,
      ),
      'x-api-key': rarely(fc.oneof(headerText, fc.constant(FUZZ_API_KEY))),
      cookie: rarely(
        fc.oneof(
          b64url.map((v) => `mcp_proxy_session=${v}`),
          headerText,
          fc.tuple(b64url, b64url).map(([a, b]) => `mcp_proxy_session=${a}; mcp_proxy_session=${b}`),
        ),
      ),
      'content-type': fc.constantFrom(
        'application/json',
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-8',
        '',
      ),
      accept: fc.constantFrom('application/json, text/event-stream', 'text/event-stream', 'application/json', '*/*'),
      origin: rarely(fc.oneof(fc.constant('https://evil.example'), fc.constant('null'), headerText)),
      'mcp-session-id': rarely(fc.oneof(b64url, fc.uuid())),
      'mcp-protocol-version': fc.constantFrom('2025-06-18', '2024-11-05', 'garbage'),
      'x-forwarded-user': rarely(headerText),
    })
    .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>),
  body: fc.option(
    fc.oneof(
      fc.json(),
      fc.string({ maxLength: 200 }),
      rpcish.map((v) => JSON.stringify(v) ?? 'null'),
    ),
    { nil: undefined },
  ),
});

/** A property over live requests to `origin`: any 5xx or a request that hangs fails it. */
export function liveProperty(
  origin: string,
  client: Client,
  seen: Map<number, number>,
  requests: fc.Arbitrary<LiveRequest> = liveRequest,
) {
  return fc.asyncProperty(requests, async (r) => {
    const hasBody = r.body !== undefined && !['GET', 'HEAD', 'OPTIONS'].includes(r.method);
    const res = await client.request({
      method: r.method as 'GET',
      path: r.path,
      headers: { ...r.headers, host: new URL(origin).host },
      body: hasBody ? r.body : undefined,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    // An SSE stream stays open by design: read its head only.
    if (String(res.headers['content-type']).startsWith('text/event-stream')) res.body.destroy();
    else await res.body.dump();
    seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode >= 500) throw new Error(`${r.method} ${r.path} → ${res.statusCode}`);
  });
}

/** A well-formed JSON-RPC request (any method, any params object): the kind that gets past the envelope checks. */
const envelope = fc.record({
  jsonrpc: fc.constant('2.0'),
  id: fc.oneof(fc.integer(), fc.string({ maxLength: 20 })),
  method: fc.oneof(
    fc.constantFrom('tools/call', 'tools/list', 'resources/read', 'prompts/get', 'initialize', 'ping'),
    fc.string({ maxLength: 20 }),
  ),
  params: fc.oneof(
    fc.object(),
    fc.record({ name: fc.oneof(fc.constantFrom('echo', 'delete_all', 'x'), fc.string()), arguments: fc.object() }),
  ),
});

/** Well-formed envelopes with a valid credential and arbitrary JSON-RPC inside: the deep path (policy, backends). */
export const liveMcpRequest: fc.Arbitrary<LiveRequest> = fc.record({
  method: fc.constant('POST'),
  path: fc.constantFrom('/mcp/echo', '/mcp/stdio', '/mcp'),
  headers: fc.record({
    'x-api-key': fc.constant(FUZZ_API_KEY),
    'content-type': fc.constant('application/json'),
    accept: fc.constant('application/json, text/event-stream'),
  }),
  body: fc
    .oneof({ arbitrary: envelope, weight: 3 }, rpcish, fc.array(fc.oneof(envelope, rpcish), { maxLength: 4 }))
    .map((v) => JSON.stringify(v) ?? 'null'),
});

/** The proxy config the live properties run against: an HTTP echo backend, a stdio backend, an API key. */
export function liveConfig(echoUrl: string, stdioServer: string): Record<string, unknown> {
  return {
    devIdp: { enabled: true },
    apiKeys: [{ name: 'fuzz', sha256: fuzzApiKeyHash, subject: 'fuzz-bot', groups: ['admin'] }],
    backends: [
      {
        name: 'echo',
        default: true,
        http: { url: echoUrl },
        tools: [
          { match: 'delete_*', deny: true },
          { match: '*', allow: { groups: ['admin'] } },
        ],
      },
      { name: 'stdio', stdio: { command: process.execPath, args: [stdioServer], isolation: 'shared' } },
    ],
  };
}

export const quietStream = () => new PassThrough().resume();
