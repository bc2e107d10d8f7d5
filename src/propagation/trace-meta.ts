/**
 * W3C trace context inside JSON-RPC requests for backends that have no HTTP headers (stdio):
 * `params._meta.traceparent` / `tracestate`, the keys MCP reserves for it (SEP-414). The
 * client's own values are replaced: the backend's parent is the proxy's span.
 */
import type { RpcMessage } from '../mcp/jsonrpc.js';
import type { McpRequest } from '../mcp/request.js';
import type { TraceContext } from '../observability/tracing.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function withTrace(m: RpcMessage, ctx: TraceContext): RpcMessage {
  if (typeof m.method !== 'string' || m.id === undefined || (m.params !== undefined && !isObject(m.params))) return m;
  const params = { ...m.params };
  const meta = isObject(params._meta) ? { ...params._meta } : {};
  delete meta.tracestate;
  params._meta = Object.assign(meta, ctx);
  return { ...m, params };
}

/** The request with the trace context in each of its JSON-RPC requests (notifications and answers as they are). */
export function withTraceMeta<R extends Pick<McpRequest, 'messages'>>(request: R, ctx: TraceContext): R {
  if (!request.messages.length) return request;
  return { ...request, messages: request.messages.map((m) => withTrace(m, ctx)) };
}
