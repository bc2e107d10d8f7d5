/**
 * The MCP 2026-07-28 request checks a bridge to a 2025 server makes itself: version, `_meta`,
 * removed and unknown methods.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { rpcError, type RequestId, type RpcMessage } from '../mcp/jsonrpc.js';
import {
  PROTOCOL_VERSION_META,
  STATELESS_REVISION,
  UNSUPPORTED_PROTOCOL_VERSION,
  isStatelessRevision,
} from '../mcp/stateless.js';

export const INVALID_PARAMS = -32602;
export const METHOD_NOT_FOUND = -32601;
/** The revision's error for a capability the client did not declare on this request (`data.requiredCapabilities`). */
export const MISSING_CLIENT_CAPABILITY = -32021;
export const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
export const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel';
export const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';
export const SUBSCRIPTION_ID_META = 'io.modelcontextprotocol/subscriptionId';
/** The revisions a bridge speaks toward its clients (what `server/discover` lists). */
export const BRIDGED_VERSIONS = [STATELESS_REVISION];

/** 2025 methods the revision removed: a bridge answers them 404 and never forwards them. */
export const REMOVED_METHODS = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);
/** The revision's client→server calls a bridge serves. */
export const KNOWN_METHODS = new Set([
  'server/discover',
  'subscriptions/listen',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'prompts/list',
  'prompts/get',
  'completion/complete',
]);

/** A refusal: HTTP status and the JSON-RPC error to send. */
export interface Refusal {
  status: number;
  body: ReturnType<typeof rpcError>;
}

const refuse = (status: number, id: RequestId | null, code: number, message: string, data?: unknown): Refusal => ({
  status,
  body: rpcError(id, code, message, data),
});

/**
 * A request that means the stateless revision, though its version may be one nobody speaks: no
 * session, and a protocol version header that is no 2025 one (`v999.0.0` included), or the
 * revision's `_meta` protocol version in the body. 2025 clients send no version before `initialize`.
 */
export function statelessAttempt(headers: IncomingHttpHeaders, m: RpcMessage | undefined): boolean {
  if (headers['mcp-session-id'] !== undefined) return false;
  const v = headers['mcp-protocol-version'];
  if (typeof v === 'string') return isStatelessRevision(v) || !SUPPORTED_PROTOCOL_VERSIONS.includes(v);
  const meta = m?.params?._meta;
  return !!meta && typeof meta === 'object' && Object.hasOwn(meta, PROTOCOL_VERSION_META);
}

/** Why a 2026-07-28 request must be refused before it reaches the upstream session, or undefined. */
export function refusal(headers: IncomingHttpHeaders, m: RpcMessage): Refusal | undefined {
  const id = m.id ?? null;
  const requested = headers['mcp-protocol-version'];
  if (typeof requested !== 'string' || !BRIDGED_VERSIONS.includes(requested))
    return refuse(400, id, UNSUPPORTED_PROTOCOL_VERSION, 'Unsupported protocol version', {
      supported: BRIDGED_VERSIONS,
      requested,
    });
  if (m.method === undefined || m.id === undefined) return undefined; // notifications and responses: nothing to check
  const meta = m.params?._meta as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== 'object')
    return refuse(400, id, INVALID_PARAMS, 'Invalid params: _meta is required on every MCP 2026-07-28 request');
  for (const key of [PROTOCOL_VERSION_META, CLIENT_CAPABILITIES_META]) {
    const v = meta[key];
    if (v === undefined || (key === CLIENT_CAPABILITIES_META && (typeof v !== 'object' || v === null)))
      return refuse(400, id, INVALID_PARAMS, `Invalid params: _meta["${key}"] is required`);
  }
  if (REMOVED_METHODS.has(m.method) || !KNOWN_METHODS.has(m.method))
    return refuse(404, id, METHOD_NOT_FOUND, `Method not found: ${m.method.slice(0, 100)}`);
  return undefined;
}

/** The request's params as a 2025 server takes them: the revision's own `_meta` keys left out. */
export function upstreamParams(params: Record<string, unknown> | undefined): Record<string, unknown> {
  const { _meta, inputResponses: _i, requestState: _r, ...rest } = params ?? {};
  if (!_meta || typeof _meta !== 'object') return rest;
  const meta = { ...(_meta as Record<string, unknown>) };
  for (const k of [PROTOCOL_VERSION_META, CLIENT_CAPABILITIES_META, CLIENT_INFO_META, LOG_LEVEL_META]) delete meta[k];
  return Object.keys(meta).length ? { ...rest, _meta: meta } : rest;
}
