/** What the encrypted session cookies hold. Tokens are kept out of the cookie (see session/tokens.ts). */
export interface UserSessionData {
  /** Session id, new at every login (no fixation). Keys the server-side token record. */
  sid: string;
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  /** The claim `tenants.claim` named at login, kept so the tenant follows the live config. */
  tenantClaims?: Record<string, string>;
  /** Created, last seen and absolute expiry, ms since epoch. */
  iat: number;
  seen: number;
  exp: number;
  /** Per-session CSRF token for cookie-authenticated POSTs. */
  csrf: string;
}

/** The short-lived login transaction, in its own cookie scoped to the callback path. */
export interface LoginTxData {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  iat: number;
}

declare module '@fastify/secure-session' {
  interface SessionData {
    user: UserSessionData;
    tx: LoginTxData;
  }
}
