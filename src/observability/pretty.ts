/**
 * `--log-format pretty`: the JSON lines of the log, the access log and the audit trail turned
 * into one readable line each, for a terminal. A small formatter rather than pino-pretty: that
 * brings a dozen packages and knows nothing of our access and audit lines.
 */
import { Writable } from 'node:stream';

export type LogFormat = 'pretty' | 'json';

/** `--log-format`, else config `log.format` (or MCP_PROXY_LOG_FORMAT), else pretty on a terminal and JSON otherwise. */
export function chooseLogFormat(flag: LogFormat | undefined, configured: LogFormat | undefined, tty: boolean) {
  return flag ?? configured ?? (tty ? 'pretty' : 'json');
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '90'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'err', 'req', 'res', 'responseTime']);

type Line = Record<string, unknown>;

function clock(time: unknown): string {
  const d = new Date(typeof time === 'number' || typeof time === 'string' ? time : Date.now());
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** `key=value` for each field but those hidden, skipped, or already said by the message (a URL, a reason). */
function fields(o: Line, skip: Set<string>, said = ''): string {
  return Object.entries(o)
    .filter(([k, v]) => !skip.has(k) && !HIDDEN.has(k) && v !== undefined)
    .filter(([, v]) => !(typeof v === 'string' && v.length > 3 && said.includes(v)))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
}

const ADMIN_SAID = new Set(['audit', 'admin', 'principal', 'action', 'target', 'result']);

function auditText(o: Line): string {
  const p = (o.principal ?? {}) as Record<string, unknown>;
  const who = p.email ?? p.id ?? p.sub ?? 'anonymous';
  // An admin console action (AuditLog.adminAction): who did what to which id, and how it ended.
  if (o.admin) return `ADMIN ${who} ${o.action} ${value(o.target)} ${o.result}  ${fields(o, ADMIN_SAID)}`;
  const what = [o.method, o.name].filter(Boolean).join(' ');
  const outcome = [o.status, o.latencyMs !== undefined ? `${o.latencyMs}ms` : undefined].filter(Boolean).join(' ');
  const rest = fields(
    o,
    new Set(['audit', 'decision', 'principal', 'backend', 'method', 'name', 'status', 'latencyMs']),
  );
  return `${String(o.decision).toUpperCase()} ${who} → ${o.backend} ${what}${outcome ? ` ${outcome}` : ''}  ${rest}`;
}

function errText(err: Record<string, unknown>, withStack: boolean): string {
  const head = `${err.type ?? 'Error'}: ${err.message ?? ''}${err.code ? ` (${err.code})` : ''}`;
  const stack = typeof err.stack === 'string' ? err.stack.split('\n').slice(1).join('\n') : '';
  return withStack && stack ? `${head}\n${stack}` : head;
}

/** One JSON log line as one readable line (an unexpected error keeps its stack on the lines after). */
export function formatLine(o: Line, color = false): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const level = Number(o.level ?? 30);
  const [name, code] = o.audit ? ['AUDIT', '36'] : (LEVELS[level] ?? [String(level), '0']);
  let text: string;
  if (o.audit) text = auditText(o);
  else {
    const req = o.req as { method?: string; url?: string } | undefined;
    const res = o.res as { statusCode?: number } | undefined;
    const access = o.msg === 'request completed' && req?.method;
    const parts = access ? [] : [String(o.msg ?? '')];
    if (req?.method) parts.push(`${req.method} ${req.url}${res?.statusCode ? ` → ${res.statusCode}` : ''}`);
    if (o.responseTime !== undefined) parts.push(`${o.responseTime}ms`);
    if (o.reqId) parts.push(paint('90', `[${o.reqId}]`));
    const rest = fields(o, new Set(), String(o.msg ?? ''));
    if (rest) parts.push(paint('90', rest));
    if (o.err && typeof o.err === 'object') parts.push(errText(o.err as Record<string, unknown>, level >= 50));
    text = parts.filter(Boolean).join('  ');
  }
  return `${paint('90', clock(o.time))} ${paint(code, name)} ${text.trimEnd()}\n`;
}

/** A stream taking JSON lines (as pino and the audit log write them) and writing readable ones to `out`. */
export function prettyStream(out: NodeJS.WritableStream, color = Boolean((out as { isTTY?: boolean }).isTTY)) {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      let text = '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          text += formatLine(JSON.parse(line) as Line, color);
        } catch {
          text += `${line}\n`;
        }
      }
      if (text) out.write(text);
      done();
    },
  });
}
