/** Reading JSON-RPC messages out of an MCP POST body, without trusting them. */
export type RequestId = string | number;

export interface RpcMessage {
  jsonrpc?: unknown;
  id?: RequestId | null;
  method?: unknown;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

/** A POST body parsed once per request (`undefined`: empty or not JSON); policy and backends share it. */
export function parseJson(body: Buffer | undefined): { value: unknown } | undefined {
  if (!body?.length) return undefined;
  try {
    return { value: JSON.parse(body.toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** The JSON-RPC messages of a parsed body (one or a batch), or undefined when it is not message-shaped. */
export function toMessages(value: unknown): { messages: RpcMessage[]; batch: boolean } | undefined {
  const batch = Array.isArray(value);
  const list = (batch ? value : [value]) as unknown[];
  if (!list.every((m) => m && typeof m === 'object' && !Array.isArray(m))) return undefined;
  return { messages: list as RpcMessage[], batch };
}

export function isRequest(m: RpcMessage): m is RpcMessage & { id: RequestId; method: string } {
  return typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');
}

export function rpcError(id: RequestId | null, code: number, message: string) {
  return { jsonrpc: '2.0' as const, id, error: { code, message } };
}
