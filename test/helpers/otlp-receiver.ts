/**
 * An OTLP/HTTP trace receiver for tests: a loopback server taking `POST /v1/traces` (JSON, as
 * @opentelemetry/exporter-trace-otlp-http sends it), keeping every byte it received and the
 * spans decoded from them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, string | number | boolean>;
  status?: { code?: number; message?: string };
  service?: string;
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
const anyValue = (v: AnyValue) =>
  v.stringValue ?? v.boolValue ?? v.doubleValue ?? (v.intValue === undefined ? undefined : Number(v.intValue));

function attributes(list: Array<{ key: string; value: AnyValue }> | undefined) {
  const out: Record<string, string | number | boolean> = {};
  for (const a of list ?? []) {
    const v = anyValue(a.value);
    if (v !== undefined) out[a.key] = v;
  }
  return out;
}

export async function startOtlpReceiver() {
  const bodies: Buffer[] = [];
  const paths: string[] = [];
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      paths.push(req.url ?? '');
      const doc = JSON.parse(body.toString('utf8'));
      for (const rs of doc.resourceSpans ?? []) {
        const service = attributes(rs.resource?.attributes)['service.name'] as string | undefined;
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              name: s.name,
              kind: s.kind,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              attributes: attributes(s.attributes),
              status: s.status,
              service,
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    paths,
    /** Every byte received, as one string (for "no secret anywhere" checks). */
    raw: () => Buffer.concat(bodies).toString('latin1'),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
