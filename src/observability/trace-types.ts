/** The tracing interfaces the request path uses (./tracing.ts), implemented by the SDK (./tracing-sdk.ts). */
import type { IncomingHttpHeaders } from 'node:http';

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** W3C trace context of a span, as a callee receives it (`traceparent` header or `_meta` key). */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export interface TraceSpan {
  set(attrs: SpanAttributes): void;
  /** Marks the span failed; `code` is an error code (src/errors.ts), never a message that may quote input. */
  fail(code: string): void;
  /** A child span; `client`: a call to another service (its context goes with the call). */
  child(name: string, attrs?: SpanAttributes, client?: boolean): TraceSpan;
  context(): TraceContext;
  end(): void;
}

export interface Tracing {
  /** A server span continuing the trace context the client sent (`traceparent`/`tracestate`), if any. */
  serverSpan(name: string, headers: IncomingHttpHeaders, attrs: SpanAttributes): TraceSpan;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TelemetryConfig {
  otlp?: { endpoint: string };
  serviceName: string;
}
