/**
 * Stage: one audit entry per judged message (or per request),
 * completed with the status and latency when the response ends.
 */
import type { FastifyReply } from 'fastify';
import type { Principal } from '../../identity/principal.js';
import type { AuditLog } from '../../observability/audit.js';
import type { HeaderProblem } from '../stateless.js';
import type { AuditDraft, McpRequest } from '../request.js';

export function auditOnClose(reply: FastifyReply, audit: AuditLog, entries: readonly AuditDraft[]): void {
  const started = performance.now();
  reply.raw.once('close', () => {
    const status = reply.raw.statusCode;
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    for (const e of entries) audit.write({ ...e, reqId: String(reply.request.id), status, latencyMs });
  });
}

/** Headers that disagree with the body: refused before policy, audited at once as a deny (400). */
export function auditMismatch(
  audit: AuditLog,
  principal: Principal,
  backend: string,
  request: McpRequest,
  problem: HeaderProblem,
  reqId?: string,
): void {
  const m = request.batch ? undefined : request.messages[0];
  audit.write({
    decision: 'deny',
    reason: problem.message,
    principal,
    backend,
    method: typeof m?.method === 'string' ? m.method : 'batch',
    id: m?.id,
    status: problem.status ?? 400,
    latencyMs: 0,
    reqId,
  });
}
