/**
 * One connection to a 2024-11-05 HTTP+SSE server: its SSE stream (GET), the `endpoint` event
 * it opens with, and the POSTs of messages to that endpoint. Written on undici rather than the
 * SDK's SSEClientTransport: every upstream request carries that request's own identity headers
 * (fresh assertion, upstream token), the proxy needs the upstream status of each POST, and
 * messages pass as JSON without a schema re-writing them.
 */
import { createParser } from 'eventsource-parser';
import type { Dispatcher, Pool } from 'undici';

/** What the client's headers say about its streamable HTTP request, not about the upstream's. */
const CLIENT_ONLY = new Set([
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'last-event-id',
  'accept',
  'content-type',
]);

/** The propagated headers (identity, assertion, upstream credential) without the client's streamable ones. */
export function legacyHeaders(given: Record<string, string>, set: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) if (!CLIENT_ONLY.has(k.toLowerCase())) out[k] = v;
  return { ...out, ...set };
}

/** An upstream answer that was not a stream or not a success, to relay to the client as it is. */
export interface UpstreamAnswer {
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Buffer;
}

export interface SseUpstreamOptions {
  /** The SSE endpoint (config `http.url`). */
  url: URL;
  /** Long-lived GET streams (a pool without a connection cap: one stream per client session). */
  streams: Pool;
  /** POSTs of messages. */
  posts: Pool;
  timeout: number;
  /** Each JSON-RPC message the server sends (an unparseable one is dropped). */
  onMessage: (m: unknown) => void;
  /** The stream ended (server gone, or `close()`). */
  onClose: () => void;
}

export class SseUpstream {
  private readonly abort = new AbortController();
  private endpoint?: URL;
  private ended = false;

  constructor(private readonly o: SseUpstreamOptions) {}

  /**
   * Opens the stream and waits (`endpointWithin` ms) for its `endpoint` event: undefined when
   * open, else the upstream's answer (not 200 or not an event stream). Throws when unreachable.
   */
  async open(headers: Record<string, string>, endpointWithin = this.o.timeout): Promise<UpstreamAnswer | undefined> {
    const { url, streams, timeout } = this.o;
    const res = await streams.request({
      method: 'GET',
      path: url.pathname + url.search,
      headers: legacyHeaders(headers, { accept: 'text/event-stream' }),
      headersTimeout: timeout,
      bodyTimeout: 0,
      signal: this.abort.signal,
    });
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      const body = Buffer.from(await res.body.arrayBuffer().catch(() => new ArrayBuffer(0)));
      this.close();
      return { statusCode: res.statusCode, headers: res.headers, body };
    }
    let found: (u: URL | Error) => void = () => undefined;
    const endpoint = new Promise<URL | Error>((resolve) => (found = resolve));
    const parser = createParser({
      onEvent: (e) => {
        if (e.event === 'endpoint') {
          let u: URL | Error;
          try {
            u = new URL(e.data, url);
          } catch {
            u = new Error('unparseable endpoint');
          }
          // Messages go only to the configured server: an endpoint on another origin is refused.
          if (u instanceof URL && u.origin !== url.origin) u = new Error(`endpoint on another origin: ${u.origin}`);
          if (u instanceof URL) this.endpoint = u;
          return found(u);
        }
        if (e.event !== undefined && e.event !== 'message') return;
        let m: unknown;
        try {
          m = JSON.parse(e.data);
        } catch {
          return;
        }
        this.o.onMessage(m);
      },
    });
    const decoder = new TextDecoder();
    res.body.on('data', (c: Buffer) => parser.feed(decoder.decode(c, { stream: true })));
    const done = () => {
      found(new Error('the stream ended before its endpoint event'));
      this.finish();
    };
    res.body.once('end', done);
    res.body.once('error', done);
    res.body.once('close', done);
    const timer = setTimeout(() => found(new Error('no endpoint event in time')), endpointWithin);
    const got = await endpoint;
    clearTimeout(timer);
    if (got instanceof Error) {
      this.close();
      throw got;
    }
    return undefined;
  }

  /** POSTs one message (bytes) to the endpoint with this request's headers; the upstream's answer. */
  async post(body: Buffer, headers: Record<string, string>): Promise<UpstreamAnswer> {
    const endpoint = this.endpoint;
    if (!endpoint || this.ended) throw new Error('the upstream stream is closed');
    const res = await this.o.posts.request({
      method: 'POST',
      path: endpoint.pathname + endpoint.search,
      headers: legacyHeaders(headers, { 'content-type': 'application/json', accept: 'application/json' }),
      body,
      headersTimeout: this.o.timeout,
      bodyTimeout: this.o.timeout,
    });
    return { statusCode: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  }

  close(): void {
    this.abort.abort();
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.o.onClose();
  }
}
