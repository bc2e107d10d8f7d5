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
  if (code && isTlsCode(code, e.name)) return `TLS: ${tlsKind(code)}: ${message} (${code})`;
  if (code && !message.includes(code)) return `${message} (${code})`;
  return message;
}

/** OpenSSL's verify codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED …) and Node's ERR_TLS_/ERR_SSL_ ones. */
const isTlsCode = (code: string, name?: string) =>
  /CERT|TLS|SSL|^UNABLE_TO_|SIGNATURE|^INVALID_(CA|PURPOSE)$|^PATH_LENGTH_EXCEEDED$/.test(code) || name === 'SSLError';

/** What kind of TLS failure an OpenSSL/Node code is, in the words an operator looks for. */
const TLS_KINDS: Array<[RegExp, string]> = [
  [
    /^UNABLE_TO_(GET_ISSUER_CERT(_LOCALLY)?|VERIFY_LEAF_SIGNATURE)$|^SELF_SIGNED_CERT_IN_CHAIN$|SELF_SIGNED_CERT$/,
    'unknown CA',
  ],
  [/ALTNAME|HOST/, 'hostname mismatch'],
  [
    /ALERT_(CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|ACCESS_DENIED)|CLOSED_AFTER_HANDSHAKE/,
    'client certificate refused',
  ],
  [/^ERR_(SSL|TLS)_/, 'handshake failure'],
];

function tlsKind(code: string): string {
  return TLS_KINDS.find(([re]) => re.test(code))?.[1] ?? 'certificate verify failed';
}

/**
 * The reason of a TLS failure inside `err` (through its causes), as errorCause words it
 * (`TLS: unknown CA: self-signed certificate (SELF_SIGNED_CERT_IN_CHAIN)`); undefined when `err` is not one.
 */
export function tlsFailure(err: unknown): string | undefined {
  if (!isObject(err)) return undefined;
  const seen = new Set<unknown>();
  for (let e: unknown = err; isObject(e) && !seen.has(e); ) {
    seen.add(e);
    if (typeof e.code === 'string' && isTlsCode(e.code, e.name)) return describeOne(e);
    e = Array.isArray(e.errors) && e.errors.length ? e.errors[0] : e.cause;
  }
  return undefined;
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
