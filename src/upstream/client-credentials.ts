/** OAuth 2.0 client credentials: the proxy's own service identity toward a backend. */
import * as oidc from 'openid-client';
import { issued, targetParams, type IssuedToken } from './issued.js';

export async function clientCredentialsToken(
  cfg: oidc.Configuration,
  target: { audience?: string; resource?: string; scopes: readonly string[] },
): Promise<IssuedToken> {
  return issued(await oidc.clientCredentialsGrant(cfg, targetParams(target)));
}
