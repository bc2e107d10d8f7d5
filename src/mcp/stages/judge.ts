/**
 * Stage: policy. The backend allow list, then every named call in the body (tools/call,
 * resources/read, prompts/get) against the backend's rules and the token's scopes. A refused
 * call is answered here (the backend never sees it); a missing scope is a 403 step-up
 * challenge; list responses get a rewrite that leaves out what the caller may not use.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BackendConfig } from '../../config/schema.js';
import { bearerChallenge, resourcePath } from '../../identity/challenge.js';
import type { Principal } from '../../identity/principal.js';
import { MCP_SCOPE } from '../../authz-server/provider.js';
import { redactKeys } from '../../observability/audit.js';
import {
  LIST_METHODS,
  NAMED_CALLS,
  backendDecision,
  callDecision,
  filterListResult,
  missingScopes,
} from '../../policy/engine.js';
import { POLICY_DENIED, isRequest, rpcError, type RequestId, type RpcMessage } from '../jsonrpc.js';
import type { DeclaredCall, McpRequest, Verdict } from '../request.js';

export interface JudgeOptions {
  dryRun?: boolean;
  /** Keys to redact when arguments are audited; undefined = arguments are not audited. */
  auditArguments?: ReadonlySet<string>;
}

type Call = RpcMessage & { method: string; id?: RequestId };

export function judge(
  p: Principal,
  b: BackendConfig,
  request: Pick<McpRequest, 'method' | 'messages' | 'batch' | 'declared' | 'sessionId'>,
  opts: JudgeOptions = {},
): Verdict {
  const { dryRun = false } = opts;
  const base = { principal: p, backend: b.name, session: request.sessionId, dryRun };
  const access = backendDecision(p, b);
  const requests: Call[] = request.declared ? [declaredRequest(request.declared)] : request.messages.filter(isRequest);
  if (!access.allow && !dryRun) {
    const first = requests[0];
    return {
      refuse: {
        status: 403,
        body: rpcError(first?.id ?? null, POLICY_DENIED, `access denied: you may not use backend "${b.name}"`),
      },
      entries: [
        {
          ...base,
          decision: 'deny',
          reason: access.reason,
          rule: access.rule,
          method: first?.method ?? request.method,
          id: first?.id,
        },
      ],
    };
  }
  if (request.method !== 'POST')
    return {
      entries: [
        {
          ...base,
          decision: 'allow',
          reason: access.reason,
          method: request.method === 'GET' ? 'GET (stream)' : `${request.method} (session)`,
        },
      ],
    };
  const entries: Verdict['entries'] = [];
  const lists = new Map<RequestId, string>();
  const denied: Array<{ id: RequestId | null; what: string }> = [];
  const stepUp = new Set<string>();
  let judged = false;
  for (const m of requests) {
    const named = NAMED_CALLS[m.method];
    if (named) {
      const name = String(m.params?.[named.param] ?? '');
      const d = callDecision(p, b, named.kind, name);
      judged ||= d.rule !== undefined;
      const missing = missingScopes(p, d);
      const ok = d.allow && !missing.length;
      const args =
        opts.auditArguments && m.params?.arguments !== undefined
          ? redactKeys(m.params.arguments, opts.auditArguments)
          : undefined;
      entries.push({
        ...base,
        decision: ok ? 'allow' : 'deny',
        reason: missing.length ? `token lacks scope ${missing.join(' ')}` : d.reason,
        rule: d.rule,
        method: m.method,
        name,
        id: m.id,
        arguments: args,
      });
      if (!d.allow) denied.push({ id: m.id ?? null, what: `${named.kind.slice(0, -1)} "${name}"` });
      for (const s of missing) stepUp.add(s);
      continue;
    }
    if (LIST_METHODS[m.method] && m.id !== undefined) lists.set(m.id, m.method);
    entries.push({
      ...base,
      decision: access.allow ? 'allow' : 'deny',
      reason: access.reason,
      rule: access.rule,
      method: m.method,
      id: m.id,
    });
  }
  if (dryRun) return { entries };
  if (stepUp.size)
    return {
      entries,
      refuse: {
        status: 403,
        body: rpcError(
          requests[0]?.id ?? null,
          POLICY_DENIED,
          `insufficient scope: this call needs ${[...stepUp].join(' ')}`,
        ),
        stepUp: [...stepUp],
      },
    };
  const rewrite = lists.size
    ? (m: RpcMessage) =>
        m.id != null && m.result !== undefined && lists.has(m.id)
          ? { ...m, result: filterListResult(p, b, lists.get(m.id)!, m.result) }
          : m
    : undefined;
  if (!denied.length) return { entries, rewrite, judged };
  if (request.batch)
    return {
      entries,
      refuse: {
        status: 403,
        body: rpcError(null, POLICY_DENIED, 'access denied: the batch contains a call you may not make'),
      },
    };
  return {
    entries,
    refuse: {
      status: 200,
      body: rpcError(denied[0]!.id, POLICY_DENIED, `access denied: you may not use ${denied[0]!.what}`),
    },
  };
}

/** A call known only from its headers, shaped like the message policy would have read. */
function declaredRequest(d: DeclaredCall): Call {
  const named = Object.hasOwn(NAMED_CALLS, d.method) ? NAMED_CALLS[d.method] : undefined;
  return { jsonrpc: '2.0', method: d.method, params: named && d.name !== undefined ? { [named.param]: d.name } : {} };
}

/** Answers a refusal (a step-up one with its `insufficient_scope` challenge); true when it did. */
export function sendRefusal(req: FastifyRequest, reply: FastifyReply, verdict: Verdict, publicUrl: string): boolean {
  const refuse = verdict.refuse;
  if (!refuse) return false;
  if (refuse.stepUp)
    reply.header(
      'www-authenticate',
      bearerChallenge(publicUrl, resourcePath(req), {
        error: 'insufficient_scope',
        scope: [MCP_SCOPE, ...refuse.stepUp].join(' '),
      }),
    );
  void reply.code(refuse.status).type('application/json').send(refuse.body);
  return true;
}
