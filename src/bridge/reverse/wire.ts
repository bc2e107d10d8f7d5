/**
 * The reverse bridge's wire: one 2025 message as a 2026-07-28 request (headers mirrored, `_meta`
 * filled), an upstream answer read as messages (JSON or SSE), results cleaned of what 2025 lacks.
 */
import type { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';
import type { RpcMessage } from '../../mcp/jsonrpc.js';
import { jsonValues } from './json-values.js';
import { PROTOCOL_VERSION_META, STATELESS_REVISION } from '../../mcp/stateless.js';

export const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
export const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel';
export const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';
export const SUBSCRIPTION_ID_META = 'io.modelcontextprotocol/subscriptionId';

/** Methods whose `Mcp-Name` header mirrors a param. */
const NAMED: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/** What a 2026-07-28 request states about its client on every call. */
export interface ClientFacts {
  capabilities: Record<string, unknown>;
  info?: unknown;
  logLevel?: string;
}

/** A header value as the revision encodes it: visible ASCII as is, anything else `=?base64?…?=`. */
export function headerValue(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) && v.trim() === v ? v : `=?base64?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

/** Headers for one 2026-07-28 request, over the identity headers propagation built. */
export function upstreamHeaders(identity: Record<string, string>, method: string, name?: string) {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(identity)) {
    const n = k.toLowerCase();
    if (n === 'mcp-session-id' || n === 'last-event-id' || n === 'content-length' || n.startsWith('mcp-')) continue;
    h[k] = v;
  }
  h['content-type'] = 'application/json';
  h.accept = 'application/json, text/event-stream';
  h['mcp-protocol-version'] = STATELESS_REVISION;
  h['mcp-method'] = headerValue(method);
  if (name !== undefined) h['mcp-name'] = headerValue(name);
  return h;
}

/** The request as 2026-07-28 wants it: `_meta` with protocol version, client capabilities, info, log level. */
export function statelessRequest(m: RpcMessage, client: ClientFacts, extra: Record<string, unknown> = {}) {
  const params = { ...(m.params ?? {}), ...extra } as Record<string, unknown>;
  const meta = { ...((params._meta as Record<string, unknown> | undefined) ?? {}) };
  meta[PROTOCOL_VERSION_META] = STATELESS_REVISION;
  meta[CLIENT_CAPABILITIES_META] = client.capabilities;
  if (client.info !== undefined) meta[CLIENT_INFO_META] = client.info;
  if (client.logLevel !== undefined) meta[LOG_LEVEL_META] = client.logLevel;
  params._meta = meta;
  const named = NAMED[m.method!];
  const name = named && typeof params[named] === 'string' ? (params[named] as string) : undefined;
  return { body: { jsonrpc: '2.0', id: m.id, method: m.method, params }, name };
}

/** A 2026-07-28 result as a 2025 client reads it: no `resultType`, no cache hints. */
export function legacyResult(result: unknown): unknown {
  if (!result || typeof result !== 'object' || Array.isArray(result)) return result;
  const { resultType: _t, ttlMs: _ttl, cacheScope: _scope, ...rest } = result as Record<string, unknown>;
  return rest;
}

/** A notification from a listen stream without the subscription tag the 2025 client does not know. */
export function untagged(m: RpcMessage): RpcMessage {
  const meta = m.params?._meta as Record<string, unknown> | undefined;
  if (!meta || !(SUBSCRIPTION_ID_META in meta)) return m;
  const { [SUBSCRIPTION_ID_META]: _id, ...rest } = meta;
  const params = { ...m.params } as Record<string, unknown>;
  if (Object.keys(rest).length) params._meta = rest;
  else delete params._meta;
  return { ...m, params };
}

/** Every JSON-RPC message of an upstream answer, in order, as it comes: JSON values or SSE events. */
export async function* messagesOf(body: Readable, contentType: string): AsyncGenerator<RpcMessage> {
  if (!contentType.startsWith('text/event-stream')) {
    // JSON: each value as it completes (a listen stream may come as newline-delimited JSON)
    for await (const value of jsonValues(body))
      for (const m of Array.isArray(value) ? value : [value]) yield m as RpcMessage;
    return;
  }
  const queue: RpcMessage[] = [];
  const parser = createParser({
    onEvent: (e) => {
      if (!e.data) return;
      try {
        queue.push(JSON.parse(e.data) as RpcMessage);
      } catch {
        // not a message: skipped, like the SDK does
      }
    },
  });
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
    while (queue.length) yield queue.shift()!;
  }
  parser.feed(decoder.decode());
  while (queue.length) yield queue.shift()!;
}

/** One SSE event carrying `m`. */
export const sseEvent = (m: unknown) => `event: message\ndata: ${JSON.stringify(m)}\n\n`;
