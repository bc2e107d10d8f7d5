/**
 * One client MCP session on a 2024-11-05 HTTP+SSE backend: its upstream SSE connection, and
 * the routing of what the server sends back to the client's streamable HTTP responses. A
 * response goes to the POST that carried its request; a progress notification to the POST whose
 * request named its token; anything else (server→client requests, other notifications) to the
 * client's GET stream, else to a POST still open, else it waits (bounded) for a GET stream.
 */
import type { PassThrough } from 'node:stream';
import { type RequestId, type RpcMessage, rpcError } from '../mcp/jsonrpc.js';
import type { Rewrite } from '../mcp/response-rewrite.js';
import type { SseUpstream } from './sse-upstream.js';

/** Messages kept for a GET stream not open yet. */
const MAX_QUEUED = 1000;

/** A client POST waiting for the responses to its requests. */
export interface Waiter {
  out: PassThrough;
  pending: Set<RequestId>;
  tokens: Array<string | number>;
  rewrite?: Rewrite;
}

const event = (m: unknown) => `event: message\ndata: ${JSON.stringify(m)}\n\n`;

export class ClientSession {
  upstream!: SseUpstream;
  /** The client's GET stream, when open. */
  stream?: PassThrough;
  private readonly waiters = new Map<RequestId, Waiter>();
  private readonly progress = new Map<string | number, Waiter>();
  private readonly open = new Set<Waiter>();
  private readonly queue: unknown[] = [];
  private timer?: NodeJS.Timeout;
  closed = false;

  constructor(
    /** The proxy's id for it (sealed for the client with its owner). */
    readonly id: string,
    /** The sealed id the client presents. */
    readonly sealed: string,
    /** principalKey of the owner. */
    readonly owner: string,
    private readonly idleMs: number,
    private readonly onEnd: (s: ClientSession) => void,
  ) {
    this.touch();
  }

  /** A request came: the idle clock starts again. */
  touch(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => (this.busy ? this.touch() : this.close()), this.idleMs);
    this.timer.unref();
  }

  /** A stream or a POST is open. */
  get busy(): boolean {
    return this.stream !== undefined || this.open.size > 0;
  }

  /** Registers a POST's requests (ids and progress tokens) before they are sent upstream. */
  wait(w: Waiter, requests: readonly RpcMessage[]): void {
    for (const r of requests) {
      this.waiters.set(r.id as RequestId, w);
      const token = (r.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
      if (typeof token === 'string' || typeof token === 'number') {
        w.tokens.push(token);
        this.progress.set(token, w);
      }
    }
    this.open.add(w);
    w.out.once('close', () => this.forget(w));
  }

  /** The POST is answered or gone. */
  forget(w: Waiter): void {
    if (!this.open.delete(w)) return;
    for (const id of w.pending) if (this.waiters.get(id) === w) this.waiters.delete(id);
    for (const t of w.tokens) if (this.progress.get(t) === w) this.progress.delete(t);
    if (!w.out.writableEnded) w.out.end();
    this.touch();
  }

  /** The client's GET stream: what waited for it goes out first. */
  attach(stream: PassThrough): void {
    this.stream = stream;
    stream.once('close', () => {
      if (this.stream === stream) this.stream = undefined;
      this.touch();
    });
    for (const m of this.queue.splice(0)) stream.write(event(m));
  }

  /** A message from the server. */
  route(m: unknown): void {
    if (!m || typeof m !== 'object') return;
    const msg = m as RpcMessage;
    if (msg.method === undefined && msg.id != null) {
      const w = this.waiters.get(msg.id);
      if (!w) return;
      this.waiters.delete(msg.id);
      w.out.write(event(w.rewrite ? w.rewrite(msg) : msg));
      w.pending.delete(msg.id);
      if (!w.pending.size) this.forget(w);
      return;
    }
    const token = msg.method === 'notifications/progress' ? msg.params?.progressToken : undefined;
    const byToken = typeof token === 'string' || typeof token === 'number' ? this.progress.get(token) : undefined;
    const to = byToken?.out ?? this.stream ?? this.open.values().next().value?.out;
    if (to) return void to.write(event(msg));
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push(msg);
  }

  /** Ends everything: the upstream stream, the client's streams (pending requests get an error). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.upstream?.close();
    for (const w of [...this.open]) {
      for (const id of w.pending) w.out.write(event(rpcError(id, -32000, 'the backend closed the session')));
      this.forget(w);
    }
    this.stream?.end();
    this.onEnd(this);
  }
}
