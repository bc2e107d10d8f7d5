/**
 * Stage: the backend takes the call. GET streams are tracked so shutdown, logout and revocation can cut them.
 * Traced, the call is a client span whose trace context the backend receives: in `traceparent`
 * for HTTP backends, in each request's `_meta` for stdio ones (the round trip to the child).
 */
import type { Backend, McpForward } from '../../backends/backend.js';
import { errorCode, requestSpan, type TraceSpan } from '../../observability/tracing.js';
import { withTraceMeta } from '../../propagation/trace-meta.js';
import type { OpenStreams } from '../streams.js';

export function forward(b: Backend, f: McpForward, streams: OpenStreams): Promise<void> {
  if (f.request.method === 'GET') streams.add(f.reply.raw, f.principal);
  const parent = requestSpan(f.req);
  return parent ? traced(b, f, parent) : b.forward(f);
}

async function traced(b: Backend, f: McpForward, parent: TraceSpan): Promise<void> {
  const transport = b.config.http ? 'http' : b.config.stdio ? 'stdio' : 'virtual';
  const span = parent.child(
    transport === 'stdio' ? 'stdio.round_trip' : 'backend.call',
    { 'mcp_proxy.backend': b.name, 'mcp_proxy.backend.transport': transport, 'http.request.method': f.request.method },
    true,
  );
  const ctx = span.context();
  let out = f;
  if (transport === 'http') {
    const headers = { ...f.headers };
    delete headers.tracestate;
    out = { ...f, headers: Object.assign(headers, ctx) };
  } else if (transport === 'stdio') out = { ...f, request: withTraceMeta(f.request, ctx) };
  // Ends with the response (for a stream, when it closes).
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    span.set({ 'http.response.status_code': f.reply.statusCode });
    span.end();
  };
  f.reply.raw.once('close', end);
  try {
    await b.forward(out);
  } catch (e) {
    span.fail(errorCode(e));
    ended = true;
    span.end();
    throw e;
  }
}
