/** MCP 2026-07-28 requests at an HTTP backend: which are stateless, their bridging, and a 2025 server's answer. */
import type { Dispatcher } from 'undici';
import { Errors } from '../errors.js';
import type { HeldBridges } from '../bridge/held.js';
import { bridgedCall, onlyPost } from '../bridge/entry.js';
import { statelessAttempt } from '../bridge/revision.js';
import { replySink } from '../bridge/sink.js';
import { rpcError, toMessages, type RpcMessage } from '../mcp/jsonrpc.js';
import { rewriteJsonBody } from '../mcp/response-rewrite.js';
import { headerProblem } from '../mcp/stateless.js';
import type { McpForward } from './backend.js';

/** A request of the stateless revision (no session; see revision.ts), one message. */
export function statelessRequest(fwd: McpForward): boolean {
  const { req, request } = fwd;
  return statelessAttempt(req.headers, request.batch ? undefined : request.messages[0]);
}

/**
 * The messages as they leave (propagation's `_meta` included); the 2026-07-28 fast path leaves
 * the body unparsed. Undefined: not JSON-RPC.
 */
export function outgoing(fwd: McpForward): { messages: RpcMessage[]; batch: boolean } | undefined {
  const bytes = fwd.body ?? fwd.request.raw;
  if (!bytes?.length) return undefined;
  try {
    return toMessages(JSON.parse(bytes.toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * One MCP 2026-07-28 request to a 2025 server, through the version bridge: checked, then
 * served over the principal's upstream session (carrying this request's identity headers).
 */
export async function serveBridged(fwd: McpForward, bridges: HeldBridges): Promise<void> {
  const { req, reply, principal, headers } = fwd;
  onlyPost(req);
  const parsed = outgoing(fwd);
  if (!parsed?.messages.length) throw new Errors.BAD_REQUEST('parse error: the body is not valid JSON-RPC');
  // The bridge reads the body: its mirrored headers must agree with it (the fast path did not check).
  const problem = parsed.batch ? undefined : headerProblem(req.headers, parsed);
  if (problem)
    return void reply
      .code(400)
      .type('application/json')
      .send(rpcError(parsed.messages[0]!.id ?? null, problem.code, problem.message));
  const m = bridgedCall(req, reply, parsed.messages, parsed.batch);
  if (!m) return;
  const { bridge } = bridges.get(principal, headers);
  const sink = replySink(req, reply);
  const { rewrite } = fwd;
  // A list answer policy filters (`rewrite`) is filtered here, as a native one would be.
  const end = sink.end.bind(sink);
  if (rewrite) sink.end = (status, msg) => end(status, JSON.parse(rewriteJsonBody(JSON.stringify(msg), rewrite)));
  await bridge.handle(m, sink);
}

/**
 * The first stateless request went natively: a 400 or 404 (unsupported version, missing session)
 * or -32601 for `server/discover` is a 2025 server's answer. Returns the body read, if any
 * (`read`: the body, already read).
 */
export async function answersAs2025(
  res: Pick<Dispatcher.ResponseData<unknown>, 'statusCode' | 'headers' | 'body'>,
  m: RpcMessage | undefined,
  read?: string,
): Promise<{ old: boolean; text?: string }> {
  const type = String(res.headers['content-type'] ?? '');
  const discover = m?.method === 'server/discover' && type.startsWith('application/json');
  if (res.statusCode !== 400 && res.statusCode !== 404 && !discover) return { old: false, text: read };
  const text = read ?? (await res.body.text());
  if (res.statusCode === 400 || res.statusCode === 404) return { old: true, text };
  try {
    return { old: (JSON.parse(text) as { error?: { code?: number } }).error?.code === -32601, text };
  } catch {
    return { old: false, text };
  }
}
