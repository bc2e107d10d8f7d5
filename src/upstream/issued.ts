/**
 * A token obtained for a backend, and how long it may be reused: `expires_in` when the token
 * endpoint said, else the JWT's `exp`; unknown when neither (then it is not cached).
 */
import { decodeJwt } from 'jose';
import type * as oidc from 'openid-client';

export interface IssuedToken {
  accessToken: string;
  /** ms since epoch; undefined when the token endpoint did not say and the token is not a JWT. */
  expiresAt?: number;
}

export function issued(t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): IssuedToken {
  const expiresIn = t.expiresIn();
  if (expiresIn !== undefined) return { accessToken: t.access_token, expiresAt: Date.now() + expiresIn * 1000 };
  try {
    const { exp } = decodeJwt(t.access_token);
    return { accessToken: t.access_token, expiresAt: typeof exp === 'number' ? exp * 1000 : undefined };
  } catch {
    return { accessToken: t.access_token };
  }
}

/** audience, resource and scope, as the token endpoint reads them (absent ones left out). */
export function targetParams(u: { audience?: string; resource?: string; scopes: readonly string[] }) {
  const p: Record<string, string> = {};
  if (u.audience) p.audience = u.audience;
  if (u.resource) p.resource = u.resource;
  if (u.scopes.length) p.scope = u.scopes.join(' ');
  return p;
}
