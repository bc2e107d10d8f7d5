/**
 * Which of the bridge's requests in flight a server message belongs to, for transports that
 * carry it on a shared stream (a streamable GET stream, an HTTP+SSE stream): a progress
 * notification by its token, anything else by the one request in flight (with several, or none,
 * nobody is guessed, as stdio's bridge does).
 */
import type { RequestId, RpcMessage } from '../mcp/jsonrpc.js';

export class InFlight {
  private readonly ids = new Set<RequestId>();
  private readonly tokens = new Map<string | number, RequestId>();
  private readonly tokenOf = new Map<RequestId, string | number>();

  get size(): number {
    return this.ids.size;
  }

  /** A request leaves (notifications and answers are not tracked). */
  add(msg: RpcMessage): void {
    if (msg.method === undefined || msg.id === undefined || msg.id === null) return;
    this.ids.add(msg.id);
    const token = (msg.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (typeof token === 'string' || typeof token === 'number') {
      this.tokens.set(token, msg.id);
      this.tokenOf.set(msg.id, token);
    }
  }

  /** The request is answered, or will not be. */
  done(id: RequestId | undefined | null): void {
    if (id === undefined || id === null || !this.ids.delete(id)) return;
    const token = this.tokenOf.get(id);
    this.tokenOf.delete(id);
    if (token !== undefined && this.tokens.get(token) === id) this.tokens.delete(token);
  }

  /** The request a message from the server relates to, when it can be told. */
  related(m: RpcMessage): RequestId | undefined {
    if (m.method === 'notifications/progress') {
      const token = m.params?.progressToken;
      const byToken = typeof token === 'string' || typeof token === 'number' ? this.tokens.get(token) : undefined;
      if (byToken !== undefined) return byToken;
    }
    if (this.ids.size !== 1) return undefined;
    const [only] = this.ids;
    return only;
  }

  clear(): void {
    this.ids.clear();
    this.tokens.clear();
    this.tokenOf.clear();
  }
}
