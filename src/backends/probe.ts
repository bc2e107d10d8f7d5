/**
 * What a readiness probe's answer means for an HTTP MCP backend. The probe is a plain GET
 * (no session, no JSON-RPC): a live MCP server answers it with an error of its own (400 without
 * a session, 405 when it offers no GET stream, 406), or opens a stream (200). Only a missing
 * endpoint, a server error or no answer at all says the backend cannot serve.
 */
import type { BackendStatus } from './backend.js';

/** The status of an HTTP backend that answered the probe with `code`. */
export function httpProbeStatus(code: number): BackendStatus {
  const http = `HTTP ${code}`;
  if (code >= 200 && code < 300) return { ok: true, kind: 'http', detail: `reachable (${http}: a stream opened)` };
  if (code === 400 || code === 405 || code === 406 || code === 415)
    return { ok: true, kind: 'http', detail: `reachable (${http} to a plain GET, as MCP servers answer)` };
  if (code === 401 || code === 403)
    return { ok: true, kind: 'http', detail: `reachable (${http}: it asks for credentials of its own)` };
  if (code === 404 || code === 410)
    return { ok: false, kind: 'http', detail: `no MCP endpoint at this URL (${http}): check backends[].http.url` };
  if (code >= 300 && code < 400)
    return { ok: false, kind: 'http', detail: `redirected (${http}): point backends[].http.url at the final URL` };
  if (code === 429) return { ok: true, kind: 'http', detail: `reachable, but rate-limiting the proxy (${http})` };
  if (code >= 500) return { ok: false, kind: 'http', detail: `server error (${http})` };
  return { ok: true, kind: 'http', detail: `reachable (${http})` };
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_HEADERS_TIMEOUT: 'no answer within 2 s',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed before an answer',
};

/** The status of an HTTP backend the probe could not reach. */
export function httpProbeFailure(e: unknown): BackendStatus {
  const code = (e as { code?: string }).code;
  const cause = (code && NETWORK[code]) || (e as Error).message || 'no answer';
  return { ok: false, kind: 'http', detail: `unreachable: ${cause}${code ? ` (${code})` : ''}` };
}
