/** Identity inside the JSON-RPC message: `params._meta["io.mcp-oidc-proxy/user"]` (DESIGN §6). */
import { identityClaims, type Principal } from '../identity/principal.js';

export const META_USER_KEY = 'io.mcp-oidc-proxy/user';

/** A copy of `params` with our `_meta` key set (or, when `inject` is false, only the client's copy removed). */
export function withIdentityMeta(params: unknown, principal: Principal, inject: boolean): Record<string, unknown> {
  const p = params && typeof params === 'object' && !Array.isArray(params) ? { ...(params as Record<string, unknown>) } : {};
  const meta = p._meta && typeof p._meta === 'object' ? { ...(p._meta as Record<string, unknown>) } : {};
  delete meta[META_USER_KEY];
  if (inject) meta[META_USER_KEY] = identityClaims(principal);
  if (Object.keys(meta).length) p._meta = meta;
  else delete p._meta;
  return p;
}
