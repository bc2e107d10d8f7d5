/** The way into a version bridge for every backend: the one call of a 2026-07-28 POST, checked (revision.ts). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import type { RequestId, RpcMessage } from '../mcp/jsonrpc.js';
import { STATELESS_REVISION } from '../mcp/stateless.js';
import { refusal } from './revision.js';

export type BridgedCall = RpcMessage & { id: RequestId; method: string };

/** A non-POST: the revision has no sessions, hence no GET streams or DELETE. */
export function onlyPost(req: FastifyRequest): void {
  if (req.method !== 'POST')
    throw new Errors.METHOD_NOT_ALLOWED(`${req.method} (MCP ${STATELESS_REVISION} has no sessions or GET streams)`);
}

/**
 * The call a bridge serves, or undefined when it was answered here: refused by the revision's
 * checks, or a notification (202, nothing to answer). A non-POST or a batch is refused (thrown).
 */
export function bridgedCall(
  req: FastifyRequest,
  reply: FastifyReply,
  messages: readonly RpcMessage[],
  batch: boolean,
): BridgedCall | undefined {
  onlyPost(req);
  if (batch) throw new Errors.BAD_REQUEST(`a batch (MCP ${STATELESS_REVISION} has none)`);
  const m = messages[0];
  if (!m) throw new Errors.BAD_REQUEST('parse error: the body is not valid JSON-RPC');
  const refused = refusal(req.headers, m);
  if (refused) return void reply.code(refused.status).type('application/json').send(refused.body);
  if (m.method === undefined || m.id === undefined || m.id === null) return void reply.code(202).send();
  return m as BridgedCall;
}
