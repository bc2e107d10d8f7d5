/**
 * Tracing as the request path sees it (DESIGN §13): spans per request, kept beside the request
 * (a WeakMap, nothing shared between apps), and the OpenTelemetry SDK loaded only when
 * `telemetry.otlp` is configured (./tracing-sdk.ts, by dynamic import). Off, every helper here
 * is one WeakMap lookup that finds nothing. Attributes name backends, methods, tools,
 * decisions and statuses: never tokens, cookies, API keys or tool arguments.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { SpanAttributes, TelemetryConfig, TraceSpan, Tracing } from './trace-types.js';

export type { SpanAttributes, TelemetryConfig, TraceContext, TraceSpan, Tracing } from './trace-types.js';

interface RequestTrace {
  root: TraceSpan;
  /** The span new children hang from (the identity span while identity runs). */
  current: TraceSpan;
}

const traces = new WeakMap<FastifyRequest, RequestTrace>();

/** The SDK, loaded now; undefined (nothing loaded) without `telemetry.otlp`. */
export async function loadTracing(config: TelemetryConfig | undefined): Promise<Tracing | undefined> {
  if (!config?.otlp) return undefined;
  const { createTracing } = await import('./tracing-sdk.js');
  return createTracing({ endpoint: config.otlp.endpoint, serviceName: config.serviceName });
}

/** The request's server span (undefined: tracing is off). */
export function requestSpan(req: FastifyRequest): TraceSpan | undefined {
  return traces.get(req)?.root;
}

/** A child of the request's current span, or undefined when tracing is off. */
export function startSpan(
  req: FastifyRequest,
  name: string,
  attrs?: SpanAttributes,
  client?: boolean,
): TraceSpan | undefined {
  return traces.get(req)?.current.child(name, attrs, client);
}

/** Runs `fn` with a span that is the parent of the spans started meanwhile for this request. */
export function inSpan<T>(
  req: FastifyRequest,
  name: string,
  fn: (span: TraceSpan | undefined) => Promise<T>,
): Promise<T> {
  const t = traces.get(req);
  return t ? traced(t, name, fn) : fn(undefined);
}

async function traced<T>(t: RequestTrace, name: string, fn: (span: TraceSpan) => Promise<T>): Promise<T> {
  const parent = t.current;
  const span = parent.child(name);
  t.current = span;
  try {
    return await fn(span);
  } catch (e) {
    span.fail(errorCode(e));
    throw e;
  } finally {
    t.current = parent;
    span.end();
  }
}

/** An error's code (src/errors.ts) or class name: what a span may say about a failure. */
export function errorCode(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.name : 'ERROR';
}

/**
 * A server span per request, started before anything else (register first) and ended when
 * the response is done (for a stream: when it closes). Named by its route pattern: a path may
 * hold ids and a query anything (a refused `access_token` included), so neither is recorded.
 */
export function tracingHooks(app: FastifyInstance, tracing: Tracing): void {
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    const root = tracing.serverSpan(`${req.method} ${route ?? 'unmatched'}`, req.headers, {
      'http.request.method': req.method,
      'http.route': route,
      'mcp_proxy.request_id': String(req.id),
    });
    traces.set(req, { root, current: root });
  });
  app.addHook('onResponse', async (req, reply) => {
    const t = traces.get(req);
    if (!t) return;
    t.root.set({ 'http.response.status_code': reply.statusCode });
    if (reply.statusCode >= 500) t.root.fail(`HTTP_${reply.statusCode}`);
    t.root.end();
  });
  app.addHook('onRequestAbort', async (req) => {
    const t = traces.get(req);
    t?.root.fail('CLIENT_ABORTED');
    t?.root.end();
  });
  app.addHook('onClose', () => tracing.shutdown());
}
