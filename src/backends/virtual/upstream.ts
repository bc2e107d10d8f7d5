/**
 * A virtual server's session as the version bridge's upstream 2025 session (one per principal):
 * its in-process SDK server, reached through a small transport whose messages keep the request
 * they relate to, initialized once declaring sampling and elicitation (its members are connected
 * with those capabilities, so their server→client requests become input-required results).
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { INIT_ID, initializeRequest } from '../../bridge/renew.js';
import type { Upstream2025 } from '../../bridge/upstream.js';
import type { RequestId, RpcMessage } from '../../mcp/jsonrpc.js';
import type { VirtualSession } from './session.js';

export class VirtualUpstream implements Upstream2025 {
  onmessage?: (msg: RpcMessage, relatedRequestId?: RequestId) => void;
  onclose?: () => void;
  private init?: Promise<Record<string, unknown>>;
  private initialized?: (m: RpcMessage) => void;
  private gone = false;
  /** The server's end of the in-process pipe: what the server sends arrives in `fromServer`. */
  private readonly pipe: Transport = {
    start: async () => undefined,
    send: async (msg, opts) => this.fromServer(msg as RpcMessage, opts),
    close: async () => this.ended(),
  };

  constructor(readonly session: VirtualSession) {}

  ready(): Promise<Record<string, unknown>> {
    // A session that could not open is dropped (onclose): the next request opens another.
    this.init ??= this.initialize().catch(async (e: unknown) => {
      await this.close();
      throw e;
    });
    return this.init;
  }

  private async initialize(): Promise<Record<string, unknown>> {
    const request = initializeRequest();
    await this.session.open((request.params as { capabilities: Record<string, unknown> }).capabilities, this.pipe);
    const answer = await new Promise<RpcMessage>((resolve) => {
      this.initialized = resolve;
      this.toServer(request);
    });
    if (answer.error) throw new Error(String((answer.error as { message?: string }).message ?? 'initialize failed'));
    this.toServer({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return answer.result as Record<string, unknown>;
  }

  private fromServer(msg: RpcMessage, opts?: TransportSendOptions): void {
    if (this.initialized && msg.method === undefined && msg.id === INIT_ID) {
      this.initialized(msg);
      this.initialized = undefined;
      return;
    }
    this.onmessage?.(msg, opts?.relatedRequestId);
  }

  send(msg: RpcMessage): void {
    this.toServer(msg);
  }

  private toServer(msg: RpcMessage): void {
    if (!this.gone) this.pipe.onmessage?.(msg as JSONRPCMessage);
  }

  private ended(): void {
    if (this.gone) return;
    this.gone = true;
    this.onclose?.();
  }

  /** The session ends: its member sessions are ended, its handoff handle withdrawn. */
  async close(): Promise<void> {
    await this.session.close();
    this.ended();
  }
}
