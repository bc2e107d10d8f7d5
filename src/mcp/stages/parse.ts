/**
 * Stage: the one McpRequest every later stage and the backend read. The body is parsed once
 * and split into messages once; a 2026-07-28 request whose policy cannot depend on its body
 * is not parsed at all (its call is read from `Mcp-Method` / `Mcp-Name`: see stateless.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BackendConfig } from '../../config/schema.js';
import { Errors } from '../../errors.js';
import type { Principal } from '../../identity/principal.js';
import { parseJson, type RpcMessage } from '../jsonrpc.js';
import type { McpRequest } from '../request.js';
import { headerOnlyCall } from '../stateless.js';

const NONE: readonly RpcMessage[] = Object.freeze([]);

/** What decides whether the body may stay unparsed. */
export interface ParseContext {
  principal: Principal;
  backend: BackendConfig;
  /** Keys redacted when arguments are audited; set: arguments are audited, so the body is read. */
  auditArguments?: ReadonlySet<string>;
}

export function parse(
  req: { method: string; headers: IncomingHttpHeaders },
  raw: Buffer | undefined,
  ctx: ParseContext,
): McpRequest {
  const presented = req.headers['mcp-session-id'];
  const sessionId = typeof presented === 'string' ? presented : undefined;
  if (req.method !== 'POST') return { method: req.method, raw, messages: NONE, batch: false, sessionId };
  const declared = headerOnlyCall(ctx.principal, ctx.backend, req.headers, raw, { auditArguments: ctx.auditArguments });
  if (declared) return { method: req.method, raw, messages: NONE, batch: false, declared, sessionId };
  // Whatever policy cannot read is refused, for every kind of backend (fail closed).
  const json = parseJson(raw);
  if (!json) throw new Errors.BAD_REQUEST('parse error: the body is not valid JSON');
  const batch = Array.isArray(json.value);
  // Shapes are checked by the validate stage, which runs next.
  const messages = (batch ? json.value : [json.value]) as RpcMessage[];
  return { method: req.method, raw, json, messages, batch, sessionId };
}
