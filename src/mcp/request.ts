/**
 * What the stages of the /mcp pipeline share (see pipeline.ts and docs/ARCHITECTURE.md,
 * "Pipeline"): one parsed request, policy's verdict on it, what goes to the backend. Stages
 * import these types, never each other.
 */
import type { AuditEntry } from '../observability/audit.js';
import type { RpcMessage } from './jsonrpc.js';
import type { Rewrite } from './response-rewrite.js';
import type { UpstreamCredential } from '../upstream/credentials.js';

/** The call a 2026-07-28 request declares in its `Mcp-Method` / `Mcp-Name` headers. */
export interface DeclaredCall {
  method: string;
  name?: string;
}

/** One MCP request, read once (stages/parse.ts) and then only read. */
export interface McpRequest {
  /** The HTTP method: POST carries messages, GET opens a stream, DELETE ends a session. */
  readonly method: string;
  /** The POST body as it arrived (size-limited); forwarded byte for byte unless propagation changes it. */
  readonly raw?: Buffer;
  /** The body as JSON.parse returned it; undefined when it was not parsed (no body, or `declared`). */
  readonly json?: { readonly value: unknown };
  /**
   * The body's messages: a batch's elements or the one message (empty when not parsed). Checked by the validate stage.
   */
  readonly messages: readonly RpcMessage[];
  /** The body is a JSON array (a batch). */
  readonly batch: boolean;
  /** The call judged from its headers alone, the body left unparsed (2026-07-28 fast path). */
  readonly declared?: DeclaredCall;
  /** The `Mcp-Session-Id` the client presented. */
  readonly sessionId?: string;
}

export type AuditDraft = Omit<AuditEntry, 'status' | 'latencyMs'>;

/** Policy's answer to one request (stages/judge.ts). */
export interface Verdict {
  /** Answered here, the backend never sees it. `stepUp`: scopes for a 403 insufficient_scope challenge. */
  refuse?: { status: number; body: unknown; stepUp?: string[] };
  /** One entry per message judged (or one for the request), completed when the response ends. */
  entries: AuditDraft[];
  /** Rewrites list responses (by request id) so nobody sees what they may not use. */
  rewrite?: Rewrite;
  /**
   * A rule decided a named call: the backend gets the message policy judged, re-serialised,
   * not the client's bytes (duplicate keys, the known way two parsers read one text
   * differently, are refused before; this keeps any other from mattering).
   */
  judged?: boolean;
}

/** What leaves for the backend (stages/propagate.ts). */
export interface Outgoing {
  /** Headers for an HTTP backend, identity included (none for stdio). */
  headers: Record<string, string>;
  /** Bytes for an HTTP backend when they differ from `raw` (our `_meta`, or a judged message re-serialised). */
  body?: Buffer;
  /** The upstream credential kind that replaced the client's (backends with `upstream`), for the audit. */
  upstream?: 'tokenExchange' | 'clientCredentials' | 'oauth';
  /** stdio backends with `upstream`: the token for the child's environment and its token file. */
  credential?: UpstreamCredential;
}
