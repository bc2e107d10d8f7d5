/** Reading JSON-RPC messages out of an MCP POST body, without trusting them. */
import { countMembers, duplicateKey, jsonShape } from '../lib/json-scan.js';
import { NAMED_CALLS } from '../policy/engine.js';

export type RequestId = string | number;

export interface RpcMessage {
  jsonrpc?: unknown;
  id?: RequestId | null;
  method?: unknown;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

// Invalid UTF-8 is not JSON (RFC 8259 §8.1): decoded leniently, policy would judge U+FFFD where a
// backend may read other characters. `ignoreBOM` keeps a BOM in the text, so JSON.parse refuses it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A POST body parsed once per request (`undefined`: empty, not UTF-8 or not JSON); policy and backends share it. */
export function parseJson(body: Buffer | undefined): { value: unknown } | undefined {
  if (!body?.length) return undefined;
  try {
    return { value: JSON.parse(utf8.decode(body)) };
  } catch {
    return undefined;
  }
}

/**
 * How deep a POST body may nest. Re-serialising a message (stdio bridge, `_meta` injection,
 * list filtering) recurses, and a few thousand levels exhaust the stack: refused up front,
 * for every backend. MCP messages need a handful of levels; serde_json's default is 128 too.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Why the text of a parsed body must not go on, or undefined: nested too deep, or an object
 * repeating a key. JSON.parse kept the last copy, a backend's parser may keep the first: the
 * method, name, id or `_meta` policy judged would not be the one that runs. Refused for every
 * key at every depth, batch elements included; no message needs one.
 */
export function textProblem(body: Buffer, value: unknown): string | undefined {
  const shape = jsonShape(body, MAX_JSON_DEPTH);
  if (shape.depth > MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (shape.members !== countMembers(value)) return `duplicate key ${JSON.stringify(duplicateKey(body) ?? '')} in an object (JSON parsers disagree on which copy counts)`;
  return undefined;
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
 * of another type, a method that is not a string, a call sent as a notification, an empty batch,
 * params that are not an object, a tools/call (resources/read, prompts/get) whose name is not a string.
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
      // MCP params are always an object (never by-position): policy reads names out of it.
      const params = m.params as unknown;
      if ('params' in m && (!params || typeof params !== 'object' || Array.isArray(params))) return 'params must be an object';
      // The tool, resource or prompt a call names must be a string policy can match, not something a backend may coerce.
      const named = Object.hasOwn(NAMED_CALLS, m.method) ? NAMED_CALLS[m.method] : undefined;
      if (named && (!params || !Object.hasOwn(params, named.param) || typeof (params as Record<string, unknown>)[named.param] !== 'string')) return `${m.method} needs params.${named.param} as a string`;
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
