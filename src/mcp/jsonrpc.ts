/**
 * The one JSON-RPC message type of the proxy, the error helper and the error codes. Messages are
 * checked once, by the validate stage (stages/validate.ts); everything after it reads this type.
 */
export type RequestId = string | number;

/** A JSON-RPC 2.0 message: a request (method and id), a notification (method) or a response (result or error). */
export interface RpcMessage {
  jsonrpc: '2.0';
  id?: RequestId | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

/** JSON-RPC error code for a policy refusal (implementation-defined server error range). */
export const POLICY_DENIED = -32003;
/** MCP: the user must open a URL first (URL elicitation), e.g. to connect a backend's account. */
export const URL_ELICITATION_REQUIRED = -32042;
/** JSON-RPC internal error: what a backend answers when it cannot complete a call. */
export const INTERNAL_ERROR = -32603;

export function rpcError(id: RequestId | null, code: number, message: string, data?: unknown) {
  return { jsonrpc: '2.0' as const, id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** A request (a method and an id), for any value: unchecked input is welcome. */
export function isRequest(m: unknown): m is RpcMessage & { id: RequestId; method: string } {
  if (typeof m !== 'object' || m === null) return false;
  const { method, id } = m as RpcMessage;
  return typeof method === 'string' && (typeof id === 'string' || typeof id === 'number');
}

// Invalid UTF-8 is not JSON (RFC 8259 §8.1): decoded leniently, policy would judge U+FFFD where a
// backend may read other characters. `ignoreBOM` keeps a BOM in the text, so JSON.parse refuses it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A body parsed (`undefined`: empty, not UTF-8 or not JSON).
 * The /mcp pipeline parses each body once, in stages/parse.ts.
 */
export function parseJson(body: Buffer | undefined): { value: unknown } | undefined {
  if (!body?.length) return undefined;
  try {
    return { value: JSON.parse(utf8.decode(body)) };
  } catch {
    return undefined;
  }
}

/** The messages of a parsed body that did not go through the pipeline (metrics' look at refused requests). */
export function toMessages(value: unknown): { messages: RpcMessage[]; batch: boolean } | undefined {
  const batch = Array.isArray(value);
  const list = (batch ? value : [value]) as unknown[];
  if (!list.every((m) => m && typeof m === 'object' && !Array.isArray(m))) return undefined;
  return { messages: list as RpcMessage[], batch };
}
