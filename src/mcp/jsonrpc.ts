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

/**
 * Why a parsed POST body is not JSON-RPC that policy can judge, or undefined when it is. What
 * policy cannot read must not reach a backend that might read it differently: a request id
 * of another type, a method that is not a string, a call sent as a notification, an empty batch.
 */
export function invalidRpc(value: unknown): string | undefined {
  const parsed = toMessages(value);
  if (!parsed) return 'not a JSON-RPC message or batch';
  if (!parsed.messages.length) return 'empty batch';
  for (const m of parsed.messages) {
    if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
    const hasId = 'id' in m;
    if ('method' in m) {
      if (typeof m.method !== 'string') return 'method must be a string';
      if (hasId && typeof m.id !== 'string' && !(typeof m.id === 'number' && Number.isFinite(m.id))) return 'id must be a string or a number';
      // MCP notifications are all `notifications/…`; anything else is a call and needs an id.
      if (!hasId && !m.method.startsWith('notifications/')) return `${m.method.slice(0, 100)} needs an id`;
    } else if (!('result' in m || 'error' in m) || !(typeof m.id === 'string' || typeof m.id === 'number' || m.id === null)) {
      return 'neither a request, a notification nor a response';
    }
  }
  return undefined;
}

export function isRequest(m: RpcMessage): m is RpcMessage & { id: RequestId; method: string } {
  return typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');
}

export function rpcError(id: RequestId | null, code: number, message: string) {
  return { jsonrpc: '2.0' as const, id, error: { code, message } };
}
