/**
 * The per-user token request at the IdP, in the dialect its token endpoint speaks: RFC 8693 token
 * exchange (`rfc8693`, and the Okta and Keycloak flavours of it) or Entra ID's on-behalf-of (a JWT
 * bearer grant). The subject is the user's upstream token; the answer, an access token for one backend.
 */
import * as oidc from 'openid-client';
import { issued, targetParams, type IssuedToken } from './issued.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_TYPE = {
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
} as const;

export const DIALECTS = ['rfc8693', 'okta', 'entra', 'keycloak'] as const;
export type Dialect = (typeof DIALECTS)[number];

export interface ExchangeTarget {
  dialect?: Dialect;
  audience?: string;
  resource?: string;
  scopes: readonly string[];
  subjectToken: keyof typeof TOKEN_TYPE;
}

/** The grant type and the form parameters (client authentication aside) a dialect sends. */
export function exchangeRequest(
  subject: string,
  t: ExchangeTarget,
): { grantType: string; params: Record<string, string> } {
  const scope = t.scopes.join(' ');
  const accessToken = TOKEN_TYPE.access_token;
  switch (t.dialect ?? 'rfc8693') {
    case 'entra':
      // Microsoft identity platform on-behalf-of
      // (learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow; the same request in
      // [MS-OAPX] §4.7.5): grant_type jwt-bearer, `assertion` = the user's access token (its `aud` must be
      // this app, else invalid_grant), requested_token_use=on_behalf_of, `scope` = the downstream API's
      // (api://crm/.default). Refusals are `error` + an "AADSTS…" error_description (e.g. invalid_grant,
      // or interaction_required when the user must consent or pass MFA first).
      return {
        grantType: JWT_BEARER,
        params: { assertion: subject, requested_token_use: 'on_behalf_of', scope },
      };
    case 'okta':
      // Okta On-Behalf-Of Token Exchange (developer.okta.com/docs/guides/set-up-token-exchange/): RFC 8693 at a
      // custom authorization server, subject_token_type access_token, `audience` (that server's audience, e.g.
      // api://crm) and `scope` both required. A subject token that is expired, issued to another client or by
      // another authorization server is invalid_grant "subject token is invalid" (support.okta.com, "Error
      // 'subject token is invalid' During OAuth 2.0 Token Exchange Flow").
      return {
        grantType: TOKEN_EXCHANGE,
        params: { subject_token: subject, subject_token_type: accessToken, audience: t.audience!, scope },
      };
    case 'keycloak':
      // Keycloak standard token exchange V2 (keycloak.org/securing-apps/token-exchange, "Making the request"):
      // RFC 8693 with `audience` = the target client's client id (Keycloak falls back to the requesting client
      // without it), subject_token an access token of the realm, requested_token_type access_token; `scope`
      // optional. The requesting client needs "Standard token exchange" enabled, else unauthorized_client.
      return {
        grantType: TOKEN_EXCHANGE,
        params: {
          subject_token: subject,
          subject_token_type: accessToken,
          requested_token_type: accessToken,
          audience: t.audience!,
          ...(scope ? { scope } : {}),
        },
      };
    default:
      return {
        grantType: TOKEN_EXCHANGE,
        params: {
          subject_token: subject,
          subject_token_type: TOKEN_TYPE[t.subjectToken],
          requested_token_type: accessToken,
          ...targetParams(t),
        },
      };
  }
}

export async function exchangeToken(
  cfg: oidc.Configuration,
  subjectToken: string,
  target: ExchangeTarget,
): Promise<IssuedToken> {
  const { grantType, params } = exchangeRequest(subjectToken, target);
  return issued(await oidc.genericGrantRequest(cfg, grantType, params));
}
