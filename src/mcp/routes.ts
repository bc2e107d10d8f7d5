/**
 * The MCP endpoints: `/mcp/:backend` and `/mcp` (default backend), streamable HTTP.
 * Requires a principal, enforces session ownership, builds the backend's headers
 * (identity in, client credentials out) and hands the call to the backend.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import type { LiveConfig } from '../config/reload.js';
import { Errors } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import type { BackendRegistry } from '../backends/registry.js';
import { bearerChallenge, requirePrincipal, resourcePath } from '../identity/challenge.js';
import { MCP_SCOPE } from '../authz-server/provider.js';
import type { AssertionSigner } from '../propagation/assertion.js';
import { upstreamHeaders } from '../propagation/headers.js';
import { identityMetaBody } from '../propagation/meta.js';
import type { SessionTokens } from '../session/tokens.js';
import { rateKey, type Limiter } from '../security/rate-limit.js';
import { gateRequest } from './policy-gate.js';
import { invalidRpc, parseJson, rpcError, textProblem, type RpcMessage } from './jsonrpc.js';
import { headerOnlyCall, headerProblem } from './stateless.js';
import type { AuditLog } from '../observability/audit.js';
import { noteDecision } from '../observability/request-facts.js';
import type { OpenStreams } from './streams.js';

export interface McpRouteOptions {
  config: Config;
  backends: BackendRegistry;
  signer: AssertionSigner;
  tokens: SessionTokens;
  audit: AuditLog;
  streams: OpenStreams;
  /** The config a reload swaps (policy.mode is read from it per request); default: `config`. */
  live?: LiveConfig;
}

/** `application/json`, with or without parameters (charset). */
function isJsonType(type: string | undefined): boolean {
  return type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

export async function mcpRoutes(app: FastifyInstance, opts: McpRouteOptions): Promise<void> {
  const { config, backends, signer, tokens, audit, streams } = opts;
  const live = opts.live ?? { current: config };
  const publicUrl = new URL(config.server.publicUrl);
  // Keyed by the backend's rateLimit block: a reload that changes it gets a new limiter.
  const limiters = new WeakMap<object, Limiter>();
  const auditArguments = config.audit.arguments ? new Set(config.audit.redact.map((k) => k.toLowerCase())) : undefined;

  // GET streams never end by themselves: at shutdown they are cut (clients reconnect), calls in flight finish.
  app.addHook('preClose', async () => void streams.close());

  // Bodies arrive as bytes (the limit answers 413), are parsed once below and forwarded as they came.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.server.bodyLimit }, (_req, body, done) => done(null, body));

  async function handle(req: FastifyRequest, reply: FastifyReply, backend: () => Backend) {
    const principal = requirePrincipal(req, reply, config.server.publicUrl);
    if (!principal) return reply;
    const b = backend();
    const limit = b.config.rateLimit;
    if (limit) await (limiters.get(limit) ?? limiters.set(limit, app.limiter(limit)).get(limit)!)(req, rateKey(b.name, limit.per, principal));
    if (req.method === 'GET') streams.add(reply.raw, principal);
    // Session ownership (DESIGN §6) is enforced by each backend, which knows its sessions.
    const sessionId = req.headers['mcp-session-id'];
    // Policy: the backend allow list and every named call; refusals never reach the backend.
    const body = req.body as Buffer | undefined;
    // Streamable HTTP posts JSON: anything else is refused as an MCP server would (415), never guessed at.
    if (req.method === 'POST' && !isJsonType(req.headers['content-type'])) throw new Errors.UNSUPPORTED_MEDIA_TYPE();
    // MCP 2026-07-28: judged from Mcp-Method / Mcp-Name alone where policy cannot depend on the body (stateless.ts).
    const declared = req.method === 'POST' ? headerOnlyCall(principal, b.config, req.headers, body, { auditArguments }) : undefined;
    const json = req.method === 'POST' && !declared ? parseJson(body) : undefined;
    // Whatever policy cannot read is refused here, for every kind of backend (fail closed).
    if (req.method === 'POST' && !declared) {
      if (!json) throw new Errors.BAD_REQUEST('parse error: the body is not valid JSON');
      const invalid = textProblem(body!, json.value) ?? invalidRpc(json.value);
      if (invalid) throw new Errors.BAD_REQUEST(`invalid JSON-RPC: ${invalid}`);
      // Headers that disagree with the body policy reads: refused (400), audited, never forwarded.
      const problem = headerProblem(req.headers, json.value);
      if (problem) {
        const m = (Array.isArray(json.value) ? {} : json.value) as RpcMessage;
        audit.write({ decision: 'deny', reason: problem.message, principal, backend: b.name, method: typeof m.method === 'string' ? m.method : 'batch', id: m.id, status: 400, latencyMs: 0 });
        return reply.code(400).type('application/json').send(rpcError(m.id ?? null, problem.code, problem.message));
      }
    }
    const gate = gateRequest(principal, b.config, req.method, json, { session: typeof sessionId === 'string' ? sessionId : undefined, dryRun: live.current.policy.mode === 'dry-run', auditArguments, declared });
    noteDecision(req, json, gate.refuse ? 'deny' : 'allow', declared?.method);
    const started = performance.now();
    reply.raw.once('close', () => {
      const status = reply.raw.statusCode;
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      for (const e of gate.entries) audit.write({ ...e, status, latencyMs });
    });
    if (gate.refuse?.stepUp) reply.header('www-authenticate', bearerChallenge(config.server.publicUrl, resourcePath(req), { error: 'insufficient_scope', scope: [MCP_SCOPE, ...gate.refuse.stepUp].join(' ') }));
    if (gate.refuse) return reply.code(gate.refuse.status).type('application/json').send(gate.refuse.body);
    const identity = b.config.identity ?? { headers: true, assertion: true };
    const accessToken = b.config.forwardAccessToken && principal.sessionId ? (await tokens.current(principal.sessionId))?.accessToken : undefined;
    // Only HTTP backends take headers; stdio ones get identity in _meta and the environment.
    const headers = !b.config.http ? {} : upstreamHeaders(req.headers, {
      principal,
      assertion: identity.assertion === false ? undefined : await signer.sign(principal, b.audience),
      identityHeaders: identity.headers,
      clientIp: req.ip,
      publicUrl,
      extra: b.config.http?.headers,
      accessToken,
    });
    // Our _meta key in an HTTP backend's body: the client's copy removed, ours set when asked (stdio backends do this per message).
    // A body a rule judged goes out as policy read it (stdio backends always get re-serialised messages).
    const forwarded = b.config.http ? (identityMetaBody(json, principal, identity.meta === true) ?? (gate.judged ? Buffer.from(JSON.stringify(json!.value)) : body)) : body;
    await b.forward({ req, reply, principal, body: forwarded, json, headers, rewrite: gate.rewrite });
    return reply;
  }

  const methods = ['GET', 'POST', 'DELETE'] as const;
  // No automatic HEAD route for GET: a HEAD is not an MCP request and must not reach a backend.
  app.route<{ Params: { backend: string } }>({ method: [...methods], url: '/mcp/:backend', exposeHeadRoute: false, handler: (req, reply) => handle(req, reply, () => backends.get(req.params.backend)) });
  app.route({ method: [...methods], url: '/mcp', exposeHeadRoute: false, handler: (req, reply) => handle(req, reply, () => backends.getDefault()) });
  for (const url of ['/mcp', '/mcp/:backend']) {
    app.route({ method: ['HEAD', 'PUT', 'PATCH'], url, handler: async (req) => { throw new Errors.METHOD_NOT_ALLOWED(req.method); } });
  }
}
