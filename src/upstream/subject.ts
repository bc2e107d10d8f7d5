/**
 * Whose token a tokenExchange trades (DESIGN.md §10, "Whose token"): for a browser session, its
 * login's; for an access token of this proxy's authorization server, the login kept with its grant
 * (grant-tokens.ts); for an external bearer JWT whose issuer is the exchange's IdP, that JWT itself
 * (used only as the subject of the exchange: never logged, never forwarded). Any other credential
 * (API keys, other issuers' tokens, opaque introspected tokens) has none, and the answer says why.
 */
import type { Principal } from '../identity/principal.js';
import type { UpstreamTokens } from '../oidc/client.js';
import type { SessionTokens } from '../session/tokens.js';
import { unverifiedIssuer } from '../tokens/external-jwt.js';
import type { GrantTokens } from './grant-tokens.js';

export type Subject = { token: string } | { why: string };

export interface SubjectDeps {
  tokens: Pick<SessionTokens, 'current'>;
  grants?: Pick<GrantTokens, 'current'>;
  /** The login's IdP (oidc's issuer): the default issuer of bearer JWTs an exchange accepts. */
  issuer?: string;
}

export interface SubjectWanted {
  subjectToken: 'access_token' | 'id_token';
  /** The IdP whose bearer JWTs are exchanged (default: `SubjectDeps.issuer`). */
  issuer?: string;
}

/** `presented`: the request's own bearer token (external principals only). */
export async function subjectFor(
  p: Principal,
  u: SubjectWanted,
  presented: string | undefined,
  d: SubjectDeps,
): Promise<Subject> {
  const pick = (t: UpstreamTokens | null | undefined, why: string): Subject => {
    const token = u.subjectToken === 'id_token' ? t?.idToken : t?.accessToken;
    return token ? { token } : { why };
  };
  switch (p.source) {
    case 'session':
      return pick(p.sessionId ? await d.tokens.current(p.sessionId) : null, 'the browser session holds no such token');
    case 'bearer':
      if (!p.grantId) return { why: 'a machine client (client_credentials) has no user login to exchange' };
      return pick(
        p.grantId && d.grants ? await d.grants.current(p.grantId, p.sub) : null,
        "the MCP client's grant holds no upstream login (sign in again from the MCP client)",
      );
    case 'external': {
      const issuer = u.issuer ?? d.issuer;
      const iss = presented ? unverifiedIssuer(presented) : undefined;
      // The bearer source verified this very token (signature, issuer, audience) before it made `p`.
      if (!presented || !issuer || iss !== issuer || (p.issuer !== undefined && p.issuer !== iss))
        return { why: `only bearer JWTs issued by ${issuer ?? "oidc's issuer"} can be exchanged` };
      if (u.subjectToken === 'id_token') return { why: 'it exchanges ID tokens and a bearer token is an access token' };
      return { token: presented };
    }
    default:
      return {
        why:
          `${p.source === 'clientCertificate' ? 'a client certificate' : 'an API key'} carries no user token ` +
          '(use a browser login or an MCP client that signs in here)',
      };
  }
}
