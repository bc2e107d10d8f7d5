/**
 * The one registry of error codes. Every error the proxy answers with is created here,
 * carries its HTTP status and whether its message may be shown to the client (`expose`).
 * Rendering (JSON, JSON-RPC or HTML) happens in observability/error-handler.ts.
 */
import createError from '@fastify/error';

export interface ProxyErrorShape extends Error {
  code: string;
  statusCode: number;
  expose?: boolean;
  headers?: Record<string, string>;
}

type Ctor = ReturnType<typeof createError>;

function def(code: string, message: string, status: number): Ctor {
  const C = createError(code, message, status);
  return C;
}

export const Errors = {
  CONFIG_INVALID: def('CONFIG_INVALID', 'invalid configuration:\n%s', 500),
  /** `check-config --probe`: something the config points at did not answer as it should (never an HTTP answer). */
  PROBE_FAILED: def('PROBE_FAILED', '%s', 500),
  UNAUTHENTICATED: def('UNAUTHENTICATED', 'authentication required', 401),
  INVALID_TOKEN: def('INVALID_TOKEN', 'the access token is invalid or expired', 401),
  INVALID_DPOP_PROOF: def('INVALID_DPOP_PROOF', 'the DPoP proof is invalid', 401),
  USE_DPOP_NONCE: def('USE_DPOP_NONCE', 'the DPoP proof must carry the nonce in the DPoP-Nonce header', 401),
  FORBIDDEN: def('FORBIDDEN', 'access denied: %s', 403),
  CSRF_FAILED: def('CSRF_FAILED', 'missing or invalid CSRF token', 403),
  ORIGIN_FORBIDDEN: def('ORIGIN_FORBIDDEN', 'origin %s is not allowed', 403),
  HOST_FORBIDDEN: def('HOST_FORBIDDEN', 'host %s is not allowed', 403),
  NOT_FOUND: def('NOT_FOUND', 'not found', 404),
  BACKEND_NOT_FOUND: def('BACKEND_NOT_FOUND', 'unknown backend "%s"', 404),
  MCP_SESSION_NOT_FOUND: def('MCP_SESSION_NOT_FOUND', 'MCP session not found', 404),
  TOOL_NOT_FOUND: def('TOOL_NOT_FOUND', 'unknown tool "%s"', 404),
  PROMPT_NOT_FOUND: def('PROMPT_NOT_FOUND', 'unknown prompt "%s"', 404),
  RESOURCE_NOT_FOUND: def('RESOURCE_NOT_FOUND', 'unknown resource "%s"', 404),
  METHOD_NOT_ALLOWED: def('METHOD_NOT_ALLOWED', 'method %s not allowed here', 405),
  NOT_ACCEPTABLE: def('NOT_ACCEPTABLE', '%s', 406),
  CONFLICT: def('CONFLICT', '%s', 409),
  BODY_TOO_LARGE: def('BODY_TOO_LARGE', 'request body larger than %s bytes', 413),
  UNSUPPORTED_MEDIA_TYPE: def('UNSUPPORTED_MEDIA_TYPE', 'unsupported content type', 415),
  BAD_REQUEST: def('BAD_REQUEST', '%s', 400),
  LOGIN_FAILED: def('LOGIN_FAILED', 'login failed: %s', 400),
  LOGIN_REFUSED: def('LOGIN_REFUSED', 'login refused: %s', 403),
  IDP_UNAVAILABLE: def('IDP_UNAVAILABLE', 'the identity provider is unavailable', 502),
  BACKEND_UNAVAILABLE: def('BACKEND_UNAVAILABLE', 'backend "%s" is unavailable', 502),
  /** The TLS handshake with a backend failed (its certificate, our client certificate): the reason is logged. */
  BACKEND_TLS: def('BACKEND_TLS', 'backend "%s" is unavailable: the TLS connection to it failed', 502),
  BACKEND_TIMEOUT: def('BACKEND_TIMEOUT', 'backend "%s" did not answer in time', 504),
  BACKEND_BUSY: def('BACKEND_BUSY', 'backend "%s" is at capacity', 503),
  STORE_UNAVAILABLE: def('STORE_UNAVAILABLE', 'the proxy cannot reach its store; try again shortly', 503),
  NOT_IMPLEMENTED: def('NOT_IMPLEMENTED', '%s is not available in this build', 501),
  UPSTREAM_TOKEN_UNAVAILABLE: def(
    'UPSTREAM_TOKEN_UNAVAILABLE',
    'backend "%s" acts as the user and needs a token of their login, which this credential cannot give: %s',
    403,
  ),
  UPSTREAM_TOKEN_FAILED: def('UPSTREAM_TOKEN_FAILED', 'could not obtain a token for backend "%s"', 502),
  UPSTREAM_CONNECTION_REQUIRED: def(
    'UPSTREAM_CONNECTION_REQUIRED',
    'backend "%s" acts as you with your own account there: connect it at %s, then try again',
    403,
  ),
  UPSTREAM_CONNECT_FAILED: def('UPSTREAM_CONNECT_FAILED', 'could not connect backend "%s": %s', 400),
  RATE_LIMITED: def('RATE_LIMITED', 'too many requests', 429),
  INTERNAL: def('INTERNAL', 'internal error', 500),
  // Start-up failures (src/app/startup-errors.ts prints them as one line and an exit code; never an HTTP answer).
  USAGE: def('USAGE', '%s', 400),
  FILE_UNREADABLE: def('FILE_UNREADABLE', 'cannot read %s %s: %s: %s', 500),
  LISTEN_FAILED: def('LISTEN_FAILED', '%s', 500),
  /** `server.tls`: the files read but do not make a usable certificate (at start; at a reload the old one stays). */
  TLS_INVALID: def('TLS_INVALID', 'server.tls: %s', 500),
} as const;

export type ErrorCode = keyof typeof Errors;

/** JSON-RPC error codes used when an error is answered on an MCP endpoint. */
export function jsonRpcCode(status: number): number {
  if (status === 401 || status === 403) return -32001;
  if (status === 404) return -32001;
  if (status === 413) return -32600;
  if (status === 400 || status === 415) return -32600;
  return -32603;
}

/** Whether an error's message may be shown to the client. 5xx errors are hidden unless coded by us. */
export function isExposed(err: Partial<ProxyErrorShape>): boolean {
  if (typeof err.code === 'string' && err.code in Errors) return true;
  if (err.expose !== undefined) return err.expose;
  return (err.statusCode ?? 500) < 500;
}

/**
 * A registry error carrying a `reason` for the logs: not enumerable, so it never reaches a
 * response body (clients see only the coded message).
 */
export function withReason<E extends Error>(err: E, reason: string): E & { reason: string } {
  Object.defineProperty(err, 'reason', { value: reason, enumerable: false });
  return err as E & { reason: string };
}

/** UPSTREAM_CONNECTION_REQUIRED with the link (rendered as `connectUrl`, or a URL elicitation on /mcp). */
export function connectionRequired(backend: string, connectUrl: string, elicitationId: string) {
  return Object.assign(new Errors.UPSTREAM_CONNECTION_REQUIRED(backend, connectUrl), { connectUrl, elicitationId });
}

export const invalidToken = (reason: string) => withReason(new Errors.INVALID_TOKEN(), reason);
export const idpUnavailable = (reason: string) => withReason(new Errors.IDP_UNAVAILABLE(), reason);
