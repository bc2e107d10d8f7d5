/**
 * One 2025 client's session at a 2026-07-28-only backend, held by the proxy (the backend keeps
 * none): what the client said at `initialize`, its GET stream, the server→client requests
 * awaiting its answer, its resource subscriptions and the calls in flight.
 */
import type { Writable } from 'node:stream';
import type { RequestId, RpcMessage } from '../../mcp/jsonrpc.js';
import { type ClientFacts, sseEvent } from './wire.js';

export class ReverseSession {
  readonly client: ClientFacts;
  /** The client's GET stream: notifications not tied to a request go there. */
  stream?: Writable;
  /** Resource URIs the client subscribed to. */
  readonly subscriptions = new Set<string>();
  /** Server→client requests sent, by the id the client answers with. */
  readonly pending = new Map<RequestId, (answer: RpcMessage) => void>();
  /** Upstream calls in flight, by the client's request id (notifications/cancelled aborts them). */
  readonly inFlight = new Map<RequestId, AbortController>();
  /** Ends the upstream `subscriptions/listen` stream now open, if any. */
  stopListening?: () => void;
  /** The session ended: a listen stream acknowledged after that is stopped at once. */
  ended = false;
  private next = 0;

  constructor(
    readonly id: string,
    readonly owner: string,
    capabilities: Record<string, unknown>,
    info: unknown,
  ) {
    this.client = { capabilities, info };
  }

  /** A fresh id for a server→client request of this session. */
  requestId(): string {
    return `proxy-${this.id.slice(0, 8)}-${++this.next}`;
  }

  /** A notification for the GET stream; dropped when the client holds none (as a 2025 server may). */
  notify(m: RpcMessage): void {
    const s = this.stream;
    if (s && !s.writableEnded && !s.destroyed) s.write(sseEvent(m));
  }

  /** The client's answer to one of our requests; false when nothing waited for it. */
  answer(m: RpcMessage): boolean {
    const waiting = m.id !== undefined && m.id !== null ? this.pending.get(m.id) : undefined;
    if (!waiting) return false;
    this.pending.delete(m.id!);
    waiting(m);
    return true;
  }

  end(): void {
    this.ended = true;
    this.stopListening?.();
    this.stopListening = undefined;
    for (const a of this.inFlight.values()) a.abort();
    this.inFlight.clear();
    for (const [id, waiting] of this.pending)
      waiting({ jsonrpc: '2.0', id, error: { code: -32000, message: 'ended' } });
    this.pending.clear();
    if (this.stream && !this.stream.writableEnded) this.stream.end();
    this.stream = undefined;
  }
}

/** A session unused this long, without a GET stream, is ended (checked when another one starts). */
export const IDLE_MS = 60 * 60_000;

/** Sessions of one backend, least recently used first; bounded, and idle ones end. */
export class ReverseSessions {
  private readonly byId = new Map<string, ReverseSession>();
  private readonly used = new Map<string, number>();
  constructor(
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(s: ReverseSession): void {
    this.sweep();
    this.byId.set(s.id, s);
    this.used.set(s.id, this.now());
    if (this.byId.size > this.max) this.delete(this.byId.keys().next().value as string);
  }

  get(id: string): ReverseSession | undefined {
    const s = this.byId.get(id);
    if (s) {
      this.byId.delete(id);
      this.byId.set(id, s);
      this.used.set(id, this.now());
    }
    return s;
  }

  /** Held (without counting as a use). */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  delete(id: string): void {
    this.byId.get(id)?.end();
    this.byId.delete(id);
    this.used.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every session of one owner (logout everywhere). */
  ownedBy(owner: string): ReverseSession[] {
    return [...this.byId.values()].filter((s) => s.owner === owner);
  }

  endAll(): void {
    for (const s of this.byId.values()) s.end();
  }

  /** Ends the least recently used sessions idle for IDLE_MS (a session with a GET stream stays). */
  private sweep(): void {
    const limit = this.now() - IDLE_MS;
    for (const [id, s] of this.byId) {
      if ((this.used.get(id) ?? 0) > limit) break;
      if (!s.stream) this.delete(id);
    }
  }
}
