/** What every backend kind (HTTP, stdio) offers the MCP route. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BackendConfig } from '../config/schema.js';
import type { Principal } from '../identity/principal.js';
import type { McpRequest } from '../mcp/request.js';
import type { Rewrite } from '../mcp/response-rewrite.js';
import type { UpstreamCredential } from '../upstream/credentials.js';

export interface McpForward {
  req: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  /** The request as the /mcp pipeline read it, once: bytes, messages, batch flag, session id. */
  request: McpRequest;
  /** Headers for the backend, identity included (built by propagation; empty for stdio). */
  headers: Record<string, string>;
  /** Bytes an HTTP backend sends instead of `request.raw`: propagation or policy changed the message. */
  body?: Buffer;
  /** Policy's rewrite of response messages (list filtering), when this request needs one. */
  rewrite?: Rewrite;
  /** stdio backends with `upstream`: the token obtained for this request (child environment and token file). */
  credential?: UpstreamCredential;
}

export interface BackendStatus {
  ok: boolean;
  /** Which kind of backend answers: what `detail` is about. */
  kind?: 'http' | 'stdio' | 'virtual';
  /** In words: `reachable (HTTP 400 …)`, `unreachable: connection refused`, `command not found: …`. */
  detail?: string;
  /** Virtual servers: the backends they merge (/readyz reports them from those backends' own status). */
  members?: string[];
}

/** Counts read at scrape time by metrics. */
export interface BackendStats {
  /** MCP sessions this proxy knows for the backend. */
  sessions: number;
  /** stdio backends: live child processes by state. */
  processes?: { busy: number; idle: number; detached: number };
}

/**
 * Every method is implemented by every kind (a no-op where a kind has nothing to do): callers
 * never ask whether a backend supports something. Adding a kind: docs/ARCHITECTURE.md,
 * "Adding a backend kind".
 */
export interface Backend {
  readonly name: string;
  /** The definition; a reload that changes only policy replaces it in place (`adopt`). */
  readonly config: BackendConfig;
  /** Values for the assertion's `aud`. */
  readonly audience: string[];
  /**
   * Reload: MCP sessions live in this process (stdio), so a retired backend serves the ones it
   * holds until they end; false when sessions live upstream (HTTP: retired after a grace).
   */
  readonly keepsSessions: boolean;
  forward(f: McpForward): Promise<void>;
  status(): Promise<BackendStatus>;
  /** Counts for metrics (cheap, read-only). */
  stats(): BackendStats;
  /** The user logged out everywhere: end their sessions (and processes) here. */
  endUser(sub: string): Promise<void>;
  /** Reload: this backend holds the MCP session (its old sessions keep working while it drains). */
  holds(sessionId: string): boolean;
  /** Reload: this backend replaces `old` (same name) and takes over what outlives a definition. */
  inherit(old: Backend): void;
  /** Reload, policy-only change: the next request reads the new definition (pool, processes and sessions stay). */
  adopt(config: BackendConfig): void;
  /** Shutdown begins: stop taking new sessions, end idle streams (in-flight calls finish). */
  drain(): Promise<void>;
  close(): Promise<void>;
}
