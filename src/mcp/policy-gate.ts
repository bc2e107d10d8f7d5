/**
 * Where policy meets a request: the backend allow list, then every named call in the body
 * (tools/call, resources/read, prompts/get). A refused call is answered here — the backend
 * never sees it — and every request gets an audit entry, completed when the response ends.
 */
import type { BackendConfig } from '../config/schema.js';
import type { Principal } from '../identity/principal.js';
import { redactKeys, type AuditEntry } from '../observability/audit.js';
import { LIST_METHODS, NAMED_CALLS, backendDecision, callDecision, filterListResult, missingScopes } from '../policy/engine.js';
import { isRequest, rpcError, toMessages, type RequestId, type RpcMessage } from './jsonrpc.js';
import type { DeclaredCall } from './stateless.js';

/** JSON-RPC error code for a policy refusal (implementation-defined server error range). */
export const POLICY_DENIED = -32003;

export interface GateOutcome {
  /** `stepUp`: the scopes to ask for in a 403 insufficient_scope challenge. */
  refuse?: { status: number; body: unknown; stepUp?: string[] };
  entries: Array<Omit<AuditEntry, 'status' | 'latencyMs'>>;
  /** Rewrites list responses (by request id) so nobody sees what they may not use. */
  rewrite?: (m: RpcMessage) => RpcMessage;
  /**
   * A rule decided a named call: the backend gets the message policy judged, re-serialised,
   * not the client's bytes (duplicate keys, the known way two parsers read one text
   * differently, are refused before the gate; this keeps any other from mattering).
   */
  judged?: boolean;
}

export interface GateOptions {
  session?: string;
  dryRun?: boolean;
  /** Keys to redact when arguments are audited; undefined = arguments are not audited. */
  auditArguments?: ReadonlySet<string>;
  /** The call judged from its headers, the body left unparsed (MCP 2026-07-28; see stateless.ts). */
  declared?: DeclaredCall;
}

export function gateRequest(p: Principal, b: BackendConfig, httpMethod: string, json: { value: unknown } | undefined, opts: GateOptions = {}): GateOutcome {
  const { session, dryRun = false } = opts;
  const base = { principal: p, backend: b.name, session, dryRun };
  const access = backendDecision(p, b);
  const parsed = json ? toMessages(json.value) : undefined;
  const requests: Array<RpcMessage & { method: string; id?: RequestId }> = opts.declared ? [declaredRequest(opts.declared)] : (parsed?.messages ?? []).filter(isRequest);
  if (!access.allow && !dryRun) {
    const first = requests[0];
    return {
      refuse: { status: 403, body: rpcError(first?.id ?? null, POLICY_DENIED, `access denied: you may not use backend "${b.name}"`) },
      entries: [{ ...base, decision: 'deny', reason: access.reason, rule: access.rule, method: first?.method ?? httpMethod, id: first?.id }],
    };
  }
  if (httpMethod !== 'POST') return { entries: [{ ...base, decision: 'allow', reason: access.reason, method: httpMethod === 'GET' ? 'GET (stream)' : `${httpMethod} (session)` }] };
  const entries: GateOutcome['entries'] = [];
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
      const args = opts.auditArguments && m.params?.arguments !== undefined ? redactKeys(m.params.arguments, opts.auditArguments) : undefined;
      entries.push({ ...base, decision: ok ? 'allow' : 'deny', reason: missing.length ? `token lacks scope ${missing.join(' ')}` : d.reason, rule: d.rule, method: m.method, name, id: m.id, arguments: args });
      if (!d.allow) denied.push({ id: m.id ?? null, what: `${named.kind.slice(0, -1)} "${name}"` });
      for (const s of missing) stepUp.add(s);
      continue;
    }
    if (LIST_METHODS[m.method] && m.id !== undefined) lists.set(m.id, m.method);
    entries.push({ ...base, decision: access.allow ? 'allow' : 'deny', reason: access.reason, rule: access.rule, method: m.method, id: m.id });
  }
  if (dryRun) return { entries };
  if (stepUp.size) return { entries, refuse: { status: 403, body: rpcError(requests[0]?.id ?? null, POLICY_DENIED, `insufficient scope: this call needs ${[...stepUp].join(' ')}`), stepUp: [...stepUp] } };
  const rewrite = lists.size
    ? (m: RpcMessage) => (m.id != null && m.result !== undefined && lists.has(m.id) ? { ...m, result: filterListResult(p, b, lists.get(m.id)!, m.result) } : m)
    : undefined;
  if (!denied.length) return { entries, rewrite, judged };
  if (parsed?.batch) return { entries, refuse: { status: 403, body: rpcError(null, POLICY_DENIED, 'access denied: the batch contains a call you may not make') } };
  return { entries, refuse: { status: 200, body: rpcError(denied[0]!.id, POLICY_DENIED, `access denied: you may not use ${denied[0]!.what}`) } };
}

/** A call known only from its headers, shaped like the message policy would have read. */
function declaredRequest(d: DeclaredCall): RpcMessage & { method: string; id?: RequestId } {
  const named = Object.hasOwn(NAMED_CALLS, d.method) ? NAMED_CALLS[d.method] : undefined;
  return { jsonrpc: '2.0', method: d.method, params: named && d.name !== undefined ? { [named.param]: d.name } : {} };
}
