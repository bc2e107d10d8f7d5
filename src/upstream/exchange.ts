/**
 * RFC 8693 token exchange: the user's upstream token (access or ID token from the browser
 * login) traded at the token endpoint for an access token meant for one backend.
 */
import * as oidc from 'openid-client';
import { issued, targetParams, type IssuedToken } from './issued.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE = {
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
} as const;

export interface ExchangeTarget {
  audience?: string;
  resource?: string;
  scopes: readonly string[];
  subjectToken: keyof typeof TOKEN_TYPE;
}

export async function exchangeToken(
  cfg: oidc.Configuration,
  subjectToken: string,
  target: ExchangeTarget,
): Promise<IssuedToken> {
  const t = await oidc.genericGrantRequest(cfg, TOKEN_EXCHANGE, {
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE[target.subjectToken],
    requested_token_type: TOKEN_TYPE.access_token,
    ...targetParams(target),
  });
  return issued(t);
}
