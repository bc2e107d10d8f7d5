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

/** The messages of a body (one or a batch), or undefined when it is not JSON-RPC-shaped JSON. */
export function parseMessages(body: Buffer | undefined): { messages: RpcMessage[]; batch: boolean } | undefined {
  if (!body?.length) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const batch = Array.isArray(parsed);
  const list = (batch ? parsed : [parsed]) as unknown[];
  if (!list.every((m) => m && typeof m === 'object' && !Array.isArray(m))) return undefined;
  return { messages: list as RpcMessage[], batch };
}

export function isRequest(m: RpcMessage): m is RpcMessage & { id: RequestId; method: string } {
  return typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');
}

export function rpcError(id: RequestId | null, code: number, message: string) {
  return { jsonrpc: '2.0' as const, id, error: { code, message } };
}
