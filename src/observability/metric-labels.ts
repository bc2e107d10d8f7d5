/** The bounded label values of the Prometheus metrics: MCP method names, decisions, login failures, token events. */
import { toMessages } from '../mcp/jsonrpc.js';
import type { RequestFacts } from './request-facts.js';

/** MCP method names kept as label values (spec 2025-06-18 and later); anything else is `other`. */
const MCP_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/message',
  'notifications/resources/updated',
  'notifications/resources/list_changed',
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/tasks/status',
  'notifications/elicitation/complete',
]);

export type Decision = 'allow' | 'deny' | 'unauthenticated' | 'error';
export type LoginFailure =
  | 'no_transaction'
  | 'idp_error'
  | 'idp_unavailable'
  | 'state_mismatch'
  | 'invalid_callback'
  | 'cookie_too_large'
  | 'not_allowed';
export type TokenEvent = 'issued' | 'refreshed' | 'revoked';

/**
 * The `method` label: the JSON-RPC method when the body holds one message (`response` when it
 * answers a server request), `batch` for several, the HTTP method for GET and DELETE.
 */
export function methodLabel(httpMethod: string, json: { value: unknown } | undefined, declared?: string): string {
  if (httpMethod !== 'POST') return httpMethod;
  if (declared !== undefined) return MCP_METHODS.has(declared) ? declared : 'other';
  const messages = json ? toMessages(json.value)?.messages : undefined;
  if (!messages?.length) return 'other';
  if (messages.length > 1) return 'batch';
  const m = messages[0]!;
  if (typeof m.method === 'string') return MCP_METHODS.has(m.method) ? m.method : 'other';
  return 'result' in m || 'error' in m ? 'response' : 'other';
}

/** The `decision` label, from the status and what policy said (when it got that far). */
export function decisionLabel(status: number, facts: RequestFacts, authenticated: boolean): Decision {
  if (status === 401 || (!authenticated && status >= 300 && status < 400)) return 'unauthenticated';
  if (facts.decision === 'deny' || status === 403) return 'deny';
  return status >= 400 ? 'error' : 'allow';
}
