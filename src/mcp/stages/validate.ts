/**
 * Stage: the one check of a parsed body, before policy reads it. What policy cannot read the
 * way a backend will must not reach the backend: text a parser may read differently (an object
 * repeating a key, nesting too deep), messages that are not JSON-RPC policy can judge, and
 * 2026-07-28 headers that disagree with the body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Errors } from '../../errors.js';
import { countMembers, duplicateKey, jsonShape } from '../../lib/json-scan.js';
import { NAMED_CALLS } from '../../policy/engine.js';

import type { McpRequest } from '../request.js';
import { headerProblem, isStatelessRevision, type HeaderProblem } from '../stateless.js';
import { METHOD_NOT_FOUND, REMOVED_METHODS } from '../../bridge/revision.js';

/**
 * How deep a POST body may nest. Re-serialising a message (stdio bridge, `_meta` injection,
 * list filtering) recurses, and a few thousand levels exhaust the stack: refused up front,
 * for every backend. MCP messages need a handful of levels; serde_json's default is 128 too.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Throws 400 for a body that must not go on; returns the header/body disagreement of a
 * 2026-07-28 request (answered 400 with a JSON-RPC error and audited), or undefined.
 */
export function validate(request: McpRequest, headers: IncomingHttpHeaders): HeaderProblem | undefined {
  if (!request.json) return undefined;
  const text = textProblem(request.raw!, request.json.value);
  if (text) throw new Errors.BAD_REQUEST(`invalid JSON-RPC: ${text}`);
  const removed = removedMethod(request, headers);
  if (removed) return removed;
  const invalid = invalidRpc(request.messages, request.batch);
  if (invalid) throw new Errors.BAD_REQUEST(`invalid JSON-RPC: ${invalid}`);
  return headerProblem(headers, request);
}

/**
 * A 2025 method the 2026-07-28 revision removed (resources/subscribe …), called by a request of
 * that revision: 404 Method not found, whatever its params (its 2025 shape is not checked).
 */
function removedMethod(request: McpRequest, headers: IncomingHttpHeaders): HeaderProblem | undefined {
  const m = request.messages[0] as { method?: unknown; id?: unknown } | undefined;
  if (request.batch || !m || typeof m.method !== 'string' || m.id === undefined) return undefined;
  if (!isStatelessRevision(headers['mcp-protocol-version']) || headers['mcp-session-id'] !== undefined)
    return undefined;
  if (!REMOVED_METHODS.has(m.method)) return undefined;
  return { status: 404, code: METHOD_NOT_FOUND, message: `Method not found: ${m.method} (removed in MCP 2026-07-28)` };
}

/**
 * Why the text of a parsed body must not go on, or undefined: nested too deep, or an object
 * repeating a key. JSON.parse kept the last copy, a backend's parser may keep the first: the
 * method, name, id or `_meta` policy judged would not be the one that runs. Refused for every
 * key at every depth, batch elements included; no message needs one.
 */
export function textProblem(body: Buffer, value: unknown): string | undefined {
  const shape = jsonShape(body, MAX_JSON_DEPTH);
  if (shape.depth > MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (shape.members !== countMembers(value))
    return (
      `duplicate key ${JSON.stringify(duplicateKey(body) ?? '')} in an object ` +
      '(JSON parsers disagree on which copy counts)'
    );
  return undefined;
}

/**
 * Why a body's messages are not JSON-RPC that policy can judge, or undefined when they are. A
 * request id of another type, a method that is not a string, a call sent as a notification, an
 * empty batch, params that are not an object, a tools/call (resources/read, prompts/get) whose
 * name is not a string: each could be read differently by a backend.
 */
export function invalidRpc(messages: readonly unknown[], batch: boolean): string | undefined {
  if (!messages.every((m) => m && typeof m === 'object' && !Array.isArray(m))) return 'not a JSON-RPC message or batch';
  if (batch && !messages.length) return 'empty batch';
  for (const m of messages as readonly Record<string, unknown>[]) {
    if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
    const hasId = 'id' in m;
    if ('method' in m) {
      if (typeof m.method !== 'string') return 'method must be a string';
      if (hasId && typeof m.id !== 'string' && !(typeof m.id === 'number' && Number.isFinite(m.id)))
        return 'id must be a string or a number';
      // MCP notifications are all `notifications/…`; anything else is a call and needs an id.
      if (!hasId && !m.method.startsWith('notifications/')) return `${m.method.slice(0, 100)} needs an id`;
      // MCP params are always an object (never by-position): policy reads names out of it.
      const params = m.params;
      if ('params' in m && (!params || typeof params !== 'object' || Array.isArray(params)))
        return 'params must be an object';
      // The tool, resource or prompt a call names must be a string policy can match, not something
      // a backend may coerce.
      const named = Object.hasOwn(NAMED_CALLS, m.method) ? NAMED_CALLS[m.method] : undefined;
      if (
        named &&
        (!params ||
          !Object.hasOwn(params, named.param) ||
          typeof (params as Record<string, unknown>)[named.param] !== 'string')
      )
        return `${m.method} needs params.${named.param} as a string`;
    } else if (
      !('result' in m || 'error' in m) ||
      !(typeof m.id === 'string' || typeof m.id === 'number' || m.id === null)
    ) {
      return 'neither a request, a notification nor a response';
    }
  }
  return undefined;
}
