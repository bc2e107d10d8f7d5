/**
 * The OpenTelemetry SDK behind ./tracing.ts, loaded only when `telemetry.otlp` is set: one
 * tracer provider per app (never registered globally: several apps in one process keep their
 * own), spans batched to OTLP/HTTP (JSON) at `<endpoint>/v1/traces`, W3C trace context
 * read from and written to carriers explicitly (no global context manager or propagator).
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IncomingHttpHeaders } from 'node:http';
import type { SpanAttributes, TraceContext, TraceSpan, Tracing } from './trace-types.js';

const propagator = new W3CTraceContextPropagator();
const SHUTDOWN_MS = 2000;

function defined(attrs: SpanAttributes | undefined): Record<string, string | number | boolean> | undefined {
  if (!attrs) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}

class OtelSpan implements TraceSpan {
  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
  ) {}

  set(attrs: SpanAttributes): void {
    const d = defined(attrs);
    if (d) this.span.setAttributes(d);
  }

  fail(code: string): void {
    this.span.setAttribute('error.type', code);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  }

  child(name: string, attrs?: SpanAttributes, client?: boolean): TraceSpan {
    const parent = trace.setSpan(ROOT_CONTEXT, this.span);
    const kind = client ? SpanKind.CLIENT : SpanKind.INTERNAL;
    return new OtelSpan(this.tracer, this.tracer.startSpan(name, { kind, attributes: defined(attrs) }, parent));
  }

  context(): TraceContext {
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, this.span), carrier, defaultTextMapSetter);
    return carrier as unknown as TraceContext;
  }

  end(): void {
    this.span.end();
  }
}

export function createTracing(o: { endpoint: string; serviceName: string }): Tracing {
  const exporter = new OTLPTraceExporter({ url: `${o.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': o.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('mcp-oidc-proxy');
  return {
    serverSpan(name: string, headers: IncomingHttpHeaders, attrs: SpanAttributes): TraceSpan {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      return new OtelSpan(
        tracer,
        tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: defined(attrs) }, parent),
      );
    },
    // What is buffered goes out, for at most SHUTDOWN_MS: an unreachable collector does not hold the exit.
    shutdown: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SHUTDOWN_MS);
        timer.unref();
        provider.shutdown().then(
          () => resolve(),
          () => resolve(),
        );
      }).then(() => undefined),
  };
}
