/**
 * One line saying why a call failed, for logs and start-up messages: `fetch failed` and other
 * wrappers are unwrapped to their cause (`ECONNREFUSED 127.0.0.1:9999`, `ENOTFOUND idp.example`,
 * the TLS reason), timeouts named, and never a stack.
 */

interface ErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  cause?: unknown;
  errors?: unknown[];
  address?: string;
  port?: number;
  hostname?: string;
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);
const UNDICI: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time (headers timeout)',
  UND_ERR_BODY_TIMEOUT: 'answer stalled (body timeout)',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_ABORTED: 'aborted',
};

const isObject = (e: unknown): e is ErrorLike => typeof e === 'object' && e !== null;
/** An error, not some other cause (openid-client's is the IdP's JSON answer, which its message already sums up). */
const isError = (e: unknown): e is ErrorLike => e instanceof Error || (isObject(e) && typeof e.message === 'string');

/** The innermost error that says more than its wrapper (`fetch failed` → its cause; AggregateError → its first). */
function innermost(err: ErrorLike, depth = 0): ErrorLike {
  if (depth > 8) return err;
  if (isError(err.cause)) return innermost(err.cause, depth + 1);
  if (Array.isArray(err.errors) && isError(err.errors[0])) return innermost(err.errors[0], depth + 1);
  return err;
}

function describeOne(e: ErrorLike): string {
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = e.message ?? String(e);
  if (code === 'ENOTFOUND') return `ENOTFOUND ${e.hostname ?? message.replace(/^getaddrinfo ENOTFOUND /, '')}`;
  if (code && NETWORK.has(code)) {
    if (e.address) return `${code} ${e.address}${e.port !== undefined ? `:${e.port}` : ''}`;
    return message.includes(code) ? message.replace(/^connect /, '') : `${code}: ${message}`;
  }
  if (code && UNDICI[code]) return UNDICI[code];
  if (e.name === 'TimeoutError') return 'timeout';
  // TLS failures carry OpenSSL's code (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID …).
  if (code && (/CERT|TLS|SSL/.test(code) || e.name === 'SSLError')) return `TLS: ${message} (${code})`;
  if (code && !message.includes(code)) return `${message} (${code})`;
  return message;
}

/** Why `err` happened, in one line: the wrapper's message only when its cause adds nothing. */
export function errorCause(err: unknown): string {
  if (!isObject(err)) return String(err);
  const inner = innermost(err);
  if (inner === err) return describeOne(err);
  const outer = err.message ?? '';
  const why = describeOne(inner);
  // Known wrappers say nothing their cause does not; others keep their own words first.
  if (!outer || /^(fetch failed|request to .* failed|terminated)$/i.test(outer) || why.includes(outer)) return why;
  return `${outer}: ${why}`;
}
