/** The one thing the version bridge needs of a transport: a 2025 MCP session it initialized, messages both ways. */
import type { RequestId, RpcMessage } from '../mcp/jsonrpc.js';

export interface Upstream2025 {
  /** The server's InitializeResult; the session is initialized once (declaring sampling and elicitation). */
  ready(): Promise<Record<string, unknown>>;
  /** A message to the server: a request (the bridge's own ids), a notification, or an answer to its request. */
  send(msg: RpcMessage): void;
  /**
   * Messages from the server: answers to the bridge's requests, notifications (with the request they
   * relate to, when known) and server→client requests. Set by the bridge.
   */
  onmessage?: (msg: RpcMessage, relatedRequestId?: RequestId) => void;
  /**
   * The session was replaced by a new one (the server forgot it): what the bridge set up on it
   * (2025 resource subscriptions) is set up again. Set by the bridge.
   */
  onrenew?: () => void;
  /** The session is gone (the server exited). Set by the bridge. */
  onclose?: () => void;
}
