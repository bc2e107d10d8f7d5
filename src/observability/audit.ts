/**
 * The audit trail: one JSON line per MCP request, `"audit": true`, on its own stream
 * (stdout by default), separate from the debug log. Arguments are never written.
 */
import pino, { type Logger } from 'pino';
import { principalKey, type Principal } from '../identity/principal.js';

export interface AuditEntry {
  decision: 'allow' | 'deny';
  reason: string;
  rule?: string;
  principal: Principal;
  backend: string;
  session?: string;
  method?: string;
  name?: string;
  id?: string | number | null;
  status?: number;
  latencyMs?: number;
  dryRun?: boolean;
  /** Which upstream credential the backend received (never the token). */
  upstream?: 'tokenExchange' | 'clientCredentials' | 'oauth';
  /** Allowed by policy but not forwarded: the error code it was answered with (UPSTREAM_TOKEN_FAILED …). */
  error?: string;
  arguments?: unknown;
  /** The request id (X-Request-Id): an MCP request's audit line is its log line. */
  reqId?: string;
}

export interface AdminAuditEntry {
  principal: Principal;
  /** `client.delete`, `grant.delete`, `session.end`, `connection.delete`; a refused write: its method. */
  action: string;
  /**
   * The id acted on (client id, grant id, session id, `<user>/<backend>`);
   * a refused write: its path under /admin/api/.
   */
  target: string;
  result: 'done' | 'not_found' | 'refused';
  detail?: Record<string, unknown>;
  reqId?: string;
}

/** A copy of `value` with every key named in `keys` (case-insensitive, any depth) replaced. */
export function redactKeys(value: unknown, keys: ReadonlySet<string>, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redactKeys(v, keys, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        keys.has(k.toLowerCase()) ? '[redacted]' : redactKeys(v, keys, depth + 1),
      ]),
    );
  }
  return value;
}

/** Audit lines leave in writes of up to this many bytes, or after FLUSH_MS, whichever comes first. */
const BUFFER_BYTES = 8 * 1024;
const FLUSH_MS = 200;

export class AuditLog {
  private readonly log: Logger;
  private readonly dest: pino.DestinationStream;
  private readonly timer?: NodeJS.Timeout;

  /**
   * `file`: append audit lines there instead of the stream (stdout by default). File and
   * stdout lines are buffered (a write per line cost an MCP call ~10% of its CPU) and flushed
   * every 200 ms, at close and at exit.
   */
  constructor(stream?: NodeJS.WritableStream, file?: string) {
    const dest =
      stream && !file
        ? (stream as pino.DestinationStream)
        : pino.destination({ dest: file ?? 1, append: true, mkdir: true, sync: false, minLength: BUFFER_BYTES });
    this.dest = dest;
    this.log = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, dest);
    if (dest !== stream) {
      this.timer = setInterval(() => this.log.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await new Promise<void>((resolve) => this.log.flush(() => resolve()));
  }

  /** An admin console action (src/admin/): who did it, what to, and how it ended. */
  adminAction(e: AdminAuditEntry): void {
    const p = e.principal;
    this.line(e.reqId, {
      admin: true,
      action: e.action,
      target: e.target,
      result: e.result,
      principal: { id: principalKey(p), sub: p.sub, email: p.email, source: p.source, apiKey: p.apiKey },
      detail: e.detail,
    });
  }

  /**
   * The line pino would write at info (same fields, same order), serialised in one
   * JSON.stringify: pino's per-key serialiser cost an MCP call ~3% of its CPU.
   */
  write(e: AuditEntry): void {
    const p = e.principal;
    this.line(e.reqId, {
      decision: e.decision,
      reason: e.reason,
      rule: e.rule,
      principal: {
        id: principalKey(p),
        sub: p.sub,
        email: p.email,
        tenant: p.tenant,
        source: p.source,
        issuer: p.issuer,
        apiKey: p.apiKey,
        clientId: p.clientId,
      },
      backend: e.backend,
      session: e.session,
      method: e.method,
      name: e.name,
      id: e.id,
      status: e.status,
      latencyMs: e.latencyMs,
      dryRun: e.dryRun || undefined,
      upstream: e.upstream,
      error: e.error,
      arguments: e.arguments,
    });
  }

  /** One audit line at info, as pino would write it: level, time, reqId and `audit` first. */
  private line(reqId: string | undefined, fields: Record<string, unknown>): void {
    this.dest.write(
      `${JSON.stringify({ level: 30, time: new Date().toISOString(), reqId, audit: true, ...fields })}\n`,
    );
  }
}
