/**
 * One place that turns any error into a response: JSON-RPC on MCP endpoints,
 * `{"error": {code, message}}` elsewhere, a small HTML page for browsers on pages.
 * 5xx details never reach the client; they are logged.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isExposed, jsonRpcCode, type ProxyErrorShape } from '../errors.js';
import { errorPageHtml, type ErrorPageFacts } from '../web/error-page.js';
import { isBrowserVisit } from '../web/mcp-url-page.js';
import { isApiPath, isMcpPath } from '../lib/paths.js';
import type { BackendConfig } from '../config/schema.js';

/** What the HTML error page may look up: a backend's definition, to say which groups it admits. */
export interface ErrorHandlingOptions {
  backendConfig?(name: string): BackendConfig | undefined;
}

const PUBLIC_FASTIFY: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'BODY_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'BAD_REQUEST'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST'],
  FST_ERR_VALIDATION: [400, 'BAD_REQUEST'],
};

/** Coded answers about something outside the proxy: logged at warn with their reason, never with a stack. */
const EXPECTED = new Set([
  'IDP_UNAVAILABLE',
  'BACKEND_UNAVAILABLE',
  'BACKEND_TLS',
  'BACKEND_TIMEOUT',
  'BACKEND_BUSY',
  'STORE_UNAVAILABLE',
  'UPSTREAM_TOKEN_FAILED',
  'UPSTREAM_CONNECT_FAILED',
]);

export function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

export function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  err: Partial<ProxyErrorShape> & { message?: string },
  opts: ErrorHandlingOptions = {},
): FastifyReply {
  let status = err.statusCode ?? 500;
  let code = err.code ?? 'INTERNAL';
  const mapped = PUBLIC_FASTIFY[code];
  if (mapped) [status, code] = mapped;
  if (status < 400 || status > 599) status = 500;
  const exposed = mapped !== undefined || isExposed({ ...err, statusCode: status });
  const message = exposed ? (err.message ?? 'error') : 'internal error';
  if (EXPECTED.has(code)) {
    // Conditions of the world outside (IdP or backend down or slow): a warning with its cause, no stack.
    const reason = (err as { reason?: string }).reason;
    req.log.warn({ code, status, reason }, reason ? `${message}: ${reason}` : message);
  } else if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code, status }, message);
  if (!exposed) code = 'INTERNAL';
  if (err.headers) reply.headers(err.headers);
  reply.code(status);
  // MCP clients get JSON-RPC; a browser visiting an MCP URL gets the HTML page below.
  if (isMcpPath(req.url) && !isBrowserVisit(req)) {
    return reply
      .type('application/json')
      .send({ jsonrpc: '2.0', id: null, error: { code: jsonRpcCode(status), message, data: { code } } });
  }
  // UPSTREAM_CONNECTION_REQUIRED: where the user connects the backend.
  const connectUrl = exposed ? (err as { connectUrl?: unknown }).connectUrl : undefined;
  if (wantsHtml(req) && !isApiPath(req.url)) {
    const facts = pageFacts(req, status, code, message, opts);
    if (typeof connectUrl === 'string') facts.connectUrl = connectUrl;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(errorPageHtml(facts));
  }
  const extra = typeof connectUrl === 'string' ? { connectUrl } : {};
  return reply.type('application/json').send({ error: { code, message, ...extra } });
}

/** What the error page says beyond the code: who asks, for what path, and a denied backend's groups. */
function pageFacts(
  req: FastifyRequest,
  status: number,
  code: string,
  message: string,
  opts: ErrorHandlingOptions,
): ErrorPageFacts {
  const path = req.url.startsWith('/') && !req.url.startsWith('//') ? req.url : '/';
  const facts: ErrorPageFacts = { status, code, message, requestId: req.id, path, signedIn: Boolean(req.principal) };
  const name = (req.params as { backend?: unknown } | undefined)?.backend;
  const backend = code === 'FORBIDDEN' && typeof name === 'string' ? opts.backendConfig?.(name) : undefined;
  if (backend) facts.backend = { name: backend.name, groups: backend.allow?.groups ?? [] };
  return facts;
}

export function registerErrorHandling(app: FastifyInstance, opts: ErrorHandlingOptions = {}): void {
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(req, reply, err as Partial<ProxyErrorShape>, opts));
  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, { statusCode: 404, code: 'NOT_FOUND', message: 'not found' }, opts),
  );
}
