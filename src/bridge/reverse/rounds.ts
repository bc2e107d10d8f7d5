/**
 * One 2025 client request carried to a 2026-07-28 server: sent stateless; its notifications
 * (progress, log messages) passed on; an input-required result turned into server→client
 * requests on the client's stream, whose answers go back in the next round trip, until the
 * server completes (or the round limit is reached).
 */
import { INTERNAL_ERROR, rpcError, type RpcMessage } from '../../mcp/jsonrpc.js';
import { UNSUPPORTED_PROTOCOL_VERSION } from '../../mcp/stateless.js';
import type { Upstream } from './detect.js';
import type { ReverseSession } from './session.js';
import { legacyResult, messagesOf, statelessRequest, untagged, upstreamHeaders } from './wire.js';

/** Input rounds a single request may take before the proxy gives up on it. */
export const MAX_ROUNDS = 16;

export interface CallContext {
  session: ReverseSession;
  upstream: Upstream;
  /** Headers propagation built for this request (identity, assertion, upstream credential). */
  identity: Record<string, string>;
  /** Writes a message on the stream answering the client's POST. */
  out: (m: RpcMessage) => void;
  signal: AbortSignal;
  /** The backend refused our revision: the detection is stale. */
  onRevisionRefused: () => void;
}

interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** The final answer to `m` (a response message for the client); throws when the backend cannot be reached. */
export async function call(ctx: CallContext, m: RpcMessage): Promise<RpcMessage> {
  let extra: Record<string, unknown> = {};
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const final = await once(ctx, m, extra);
    if (final.error || !final.result || typeof final.result !== 'object') {
      if ((final.error as { code?: number } | undefined)?.code === UNSUPPORTED_PROTOCOL_VERSION)
        ctx.onRevisionRefused();
      return { jsonrpc: '2.0', id: m.id, ...(final.error ? { error: final.error } : { result: final.result }) };
    }
    const result = final.result as Record<string, unknown>;
    if (result.resultType !== 'input_required') return { jsonrpc: '2.0', id: m.id, result: legacyResult(result) };
    const responses: Record<string, unknown> = {};
    for (const [key, asked] of Object.entries((result.inputRequests ?? {}) as Record<string, InputRequest>)) {
      const answer = await ask(ctx, asked);
      if (answer.error) return { jsonrpc: '2.0', id: m.id, error: answer.error };
      responses[key] = answer.result;
    }
    extra = { inputResponses: responses };
    if (typeof result.requestState === 'string') extra.requestState = result.requestState;
  }
  return rpcError(m.id ?? null, INTERNAL_ERROR, `the backend asked for input more than ${MAX_ROUNDS} times`);
}

/** One round trip: notifications relayed, the response to this request returned. */
async function once(ctx: CallContext, m: RpcMessage, extra: Record<string, unknown>): Promise<RpcMessage> {
  const { body, name } = statelessRequest(m, ctx.session.client, extra);
  const res = await ctx.upstream.post(upstreamHeaders(ctx.identity, m.method!, name), JSON.stringify(body), ctx.signal);
  if (res.status >= 400 && !res.type.startsWith('application/json')) {
    res.body.resume();
    return {
      jsonrpc: '2.0',
      id: m.id,
      error: { code: INTERNAL_ERROR, message: `backend answered HTTP ${res.status}` },
    };
  }
  for await (const msg of messagesOf(res.body, res.type)) {
    if (typeof msg.method === 'string' && msg.id === undefined) ctx.out(untagged(msg));
    else if (msg.method === undefined && msg.id === body.id) {
      res.body.destroy();
      return msg;
    }
  }
  return { jsonrpc: '2.0', id: m.id, error: { code: INTERNAL_ERROR, message: 'the backend ended without an answer' } };
}

/** A server→client request on the client's stream; its answer (an error one when the call is abandoned). */
function ask(ctx: CallContext, asked: InputRequest): Promise<RpcMessage> {
  const id = ctx.session.requestId();
  return new Promise((resolve) => {
    const abandon = () => {
      ctx.session.pending.delete(id);
      resolve({ jsonrpc: '2.0', id, error: { code: INTERNAL_ERROR, message: 'request abandoned' } });
    };
    if (ctx.signal.aborted) return abandon();
    ctx.signal.addEventListener('abort', abandon, { once: true });
    ctx.session.pending.set(id, (answer) => {
      ctx.signal.removeEventListener('abort', abandon);
      resolve(answer);
    });
    ctx.out({ jsonrpc: '2.0', id, method: asked.method, ...(asked.params ? { params: asked.params } : {}) });
  });
}
