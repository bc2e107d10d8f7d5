/**
 * One place that turns any error into a response: JSON-RPC on MCP endpoints,
 * `{"error": {code, message}}` elsewhere, a small HTML page for browsers on pages.
 * 5xx details never reach the client; they are logged.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isExposed, jsonRpcCode, type ProxyErrorShape } from '../errors.js';
import { errorPage } from '../web/html.js';
import { isApiPath, isMcpPath } from '../lib/paths.js';

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
  if (isMcpPath(req.url)) {
    return reply
      .type('application/json')
      .send({ jsonrpc: '2.0', id: null, error: { code: jsonRpcCode(status), message, data: { code } } });
  }
  if (wantsHtml(req) && !isApiPath(req.url)) {
    return reply.type('text/html; charset=utf-8').send(errorPage(String(status), message));
  }
  // UPSTREAM_CONNECTION_REQUIRED: where the user connects the backend.
  const connectUrl = exposed ? (err as { connectUrl?: unknown }).connectUrl : undefined;
  const extra = typeof connectUrl === 'string' ? { connectUrl } : {};
  return reply.type('application/json').send({ error: { code, message, ...extra } });
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(req, reply, err as Partial<ProxyErrorShape>));
  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, { statusCode: 404, code: 'NOT_FOUND', message: 'not found' }),
  );
}
