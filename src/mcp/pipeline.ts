/**
 * The /mcp pipeline: every stage, in order, in this one place (docs/ARCHITECTURE.md,
 * "Pipeline" and "Stages"). Each stage is one file under stages/, testable on its own; they
 * share types (request.ts) and never import each other. A stage that answers (401, 415, 400,
 * a policy refusal) ends the request; one that throws is answered by the error handler.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/load.js';
import type { Live } from '../live.js';
import type { AuditLog } from '../observability/audit.js';
import { noteDecision } from '../observability/request-facts.js';
import { requestSpan, type SpanAttributes, startSpan, type TraceSpan } from '../observability/tracing.js';
import { INTERNAL_ERROR, type RequestId, rpcError, URL_ELICITATION_REQUIRED } from './jsonrpc.js';
import { auditMismatch, auditOnClose } from './stages/audit.js';
import { authenticate } from './stages/authenticate.js';
import { forward } from './stages/forward.js';
import { judge, sendRefusal } from './stages/judge.js';
import { rateLimitStage } from './stages/limit.js';
import { parse } from './stages/parse.js';
import { propagate, type PropagateDeps } from './stages/propagate.js';
import { readBody } from './stages/read-body.js';
import { validate } from './stages/validate.js';
import type { OpenStreams } from './streams.js';
import type { Verdict } from './request.js';
import { callAttributes } from './trace-attributes.js';

export interface PipelineDeps extends Omit<PropagateDeps, 'publicUrl'> {
  config: Config;
  /** The live state (policy mode is read from it per request). */
  live: Live;
  audit: AuditLog;
  streams: OpenStreams;
  makeLimiter: Parameters<typeof rateLimitStage>[0];
}

/** `backend` is looked up after authentication: an anonymous caller learns nothing of which backends exist. */
export type McpHandler = (req: FastifyRequest, reply: FastifyReply, backend: () => Backend) => Promise<FastifyReply>;

const UPSTREAM_CODES = new Set(['UPSTREAM_TOKEN_UNAVAILABLE', 'UPSTREAM_TOKEN_FAILED', 'UPSTREAM_CONNECTION_REQUIRED']);
const isUpstreamRefusal = (e: unknown): e is Error & { code: string } =>
  e instanceof Error && UPSTREAM_CODES.has((e as { code?: string }).code ?? '');

export function mcpPipeline(deps: PipelineDeps): McpHandler {
  const { config, live, audit, streams } = deps;
  const publicUrl = config.server.publicUrl;
  const propagation: PropagateDeps = {
    signer: deps.signer,
    tokens: deps.tokens,
    upstream: deps.upstream,
    publicUrl: new URL(publicUrl),
  };
  const auditArguments = config.audit.arguments ? new Set(config.audit.redact.map((k) => k.toLowerCase())) : undefined;
  const limit = rateLimitStage(deps.makeLimiter);

  return async function handle(req, reply, backend) {
    const principal = authenticate(req, reply, publicUrl);
    if (!principal) return reply;
    const b = backend();
    const limited = limit(req, b, principal);
    if (limited) await limited;
    const raw = readBody(req);
    const request = parse(req, raw, { principal, backend: b.config, auditArguments });
    const mismatch = validate(request, req.headers);
    if (mismatch) {
      auditMismatch(audit, principal, b.name, request, mismatch, String(req.id));
      const id = request.batch ? null : (request.messages[0]?.id ?? null);
      return reply
        .code(mismatch.status ?? 400)
        .type('application/json')
        .send(rpcError(id, mismatch.code, mismatch.message));
    }
    const decided = startSpan(req, 'policy');
    const verdict = judge(principal, b.config, request, { dryRun: !live.current.enforce, auditArguments });
    noteDecision(req, request.json, verdict.refuse ? 'deny' : 'allow', request.declared?.method);
    if (decided) tracePolicy(req, decided, callAttributes(b.name, request), verdict, live.current.enforce);
    auditOnClose(reply, audit, verdict.entries);
    if (sendRefusal(req, reply, verdict, publicUrl)) return reply;
    let out: Awaited<ReturnType<typeof propagate>>;
    try {
      out = await propagate(req, b, principal, request, verdict, propagation);
    } catch (e) {
      if (!isUpstreamRefusal(e)) throw e;
      // The audit says the call never reached the backend, and why (its status alone is a 200).
      for (const entry of verdict.entries) entry.error = e.code;
      // Like any JSON-RPC answer (the MCP client shows it): HTTP 200, the backend named, its code in data.
      const id = request.batch ? null : (request.messages[0]?.id ?? null);
      return reply
        .code(200)
        .type('application/json')
        .send(upstreamRefusal(id, e, b.name));
    }
    for (const entry of verdict.entries) entry.upstream = out.upstream;
    await forward(
      b,
      {
        req,
        reply,
        principal,
        request,
        headers: out.headers,
        body: out.body,
        rewrite: verdict.rewrite,
        credential: out.credential,
      },
      streams,
    );
    return reply;
  };
}

/** The policy span ended with the decision; the request span told the call (backend, method, tool). */
function tracePolicy(req: FastifyRequest, span: TraceSpan, call: SpanAttributes, verdict: Verdict, enforced: boolean) {
  const decision = verdict.refuse ? 'deny' : 'allow';
  span.set({ ...call, 'mcp_proxy.policy.decision': decision, 'mcp_proxy.policy.enforced': enforced });
  span.end();
  requestSpan(req)?.set(call);
}

/**
 * A refused upstream credential as JSON-RPC. A missing connection is MCP's URL elicitation
 * (-32042): the connect link in `data.elicitations` and, for clients without URL elicitation,
 * in the message.
 */
function upstreamRefusal(id: RequestId | null, e: Error & { code: string }, backend: string) {
  const { connectUrl, elicitationId } = e as { connectUrl?: string; elicitationId?: string };
  if (e.code !== 'UPSTREAM_CONNECTION_REQUIRED' || !connectUrl)
    return rpcError(id, INTERNAL_ERROR, e.message, { code: e.code, backend });
  return rpcError(id, URL_ELICITATION_REQUIRED, e.message, {
    code: e.code,
    backend,
    elicitations: [{ mode: 'url', elicitationId, url: connectUrl, message: e.message }],
  });
}
