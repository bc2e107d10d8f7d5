/** A client's MCP session as the child bridge and its helpers see it. */
import type { RequestId, RpcMessage } from '../../mcp/jsonrpc.js';
import type { Principal } from '../../identity/principal.js';

export interface SessionLink {
  readonly id: string;
  readonly principal: Principal;
  lastActive: number;
  readonly getStreamOpen: boolean;
  /** Deliver a message to the client (on the stream of `relatedRequestId`, else the GET stream). */
  deliver(msg: RpcMessage, relatedRequestId?: RequestId): void;
  /** The child is gone: the session ends (the next request gets 404 and re-initializes). */
  gone(): void;
  /** Policy's filter for list results (tools/list …), by method. */
  filterResult?(method: string, result: unknown): unknown;
  /** A version bridge's upstream session (MCP 2026-07-28 clients): it takes every message and sorts them itself. */
  readonly stateless?: boolean;
}
