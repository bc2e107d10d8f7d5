/**
 * Identity inside the JSON-RPC message: `params._meta["io.mcp-oidc-proxy/user"]`
 * (a contract: README, "What a backend receives").
 */
import { identityClaims, type Principal } from '../identity/principal.js';
import type { RpcMessage } from '../mcp/jsonrpc.js';
import type { McpRequest } from '../mcp/request.js';

export const META_USER_KEY = 'io.mcp-oidc-proxy/user';

/** A copy of `params` with our `_meta` key set (or, when `inject` is false, only the client's copy removed). */
export function withIdentityMeta(params: unknown, principal: Principal, inject: boolean): Record<string, unknown> {
  const p =
    params && typeof params === 'object' && !Array.isArray(params) ? { ...(params as Record<string, unknown>) } : {};
  const meta = p._meta && typeof p._meta === 'object' ? { ...(p._meta as Record<string, unknown>) } : {};
  delete meta[META_USER_KEY];
  if (inject) meta[META_USER_KEY] = identityClaims(principal);
  if (Object.keys(meta).length) p._meta = meta;
  else delete p._meta;
  return p;
}

const objectParams = (m: RpcMessage) =>
  m.params === undefined || (typeof m.params === 'object' && m.params !== null && !Array.isArray(m.params));
const carriesOurKey = (m: RpcMessage) => {
  const meta = m.params?._meta;
  return typeof meta === 'object' && meta !== null && Object.hasOwn(meta, META_USER_KEY);
};

/**
 * An HTTP backend's POST body with the client's copy of our `_meta` key removed from every
 * request and notification, and ours set in each request when `inject` (`identity.meta`).
 * Undefined when nothing changes: the body is then forwarded byte for byte.
 */
export function identityMetaBody(
  parsed: Pick<McpRequest, 'messages' | 'batch'>,
  principal: Principal,
  inject: boolean,
): Buffer | undefined {
  const injects = (m: RpcMessage) => inject && typeof m.method === 'string' && m.id !== undefined && objectParams(m);
  const touch = (m: RpcMessage) => typeof m.method === 'string' && (injects(m) || carriesOurKey(m));
  if (!parsed.messages.some(touch)) return undefined;
  const out = parsed.messages.map((m) =>
    touch(m) ? { ...m, params: withIdentityMeta(m.params, principal, injects(m)) } : m,
  );
  return Buffer.from(JSON.stringify(parsed.batch ? out : out[0]));
}
