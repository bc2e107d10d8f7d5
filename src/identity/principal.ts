/** The one Principal type: who is calling, whatever proved it. */
export type PrincipalSource = 'session' | 'bearer' | 'external' | 'apikey';

export interface Principal {
  readonly sub: string;
  readonly email?: string;
  readonly name?: string;
  readonly groups: readonly string[];
  readonly tenant?: string;
  readonly scopes: readonly string[];
  readonly source: PrincipalSource;
  /** API key name, for `allow.apiKeys` rules. */
  readonly apiKey?: string;
  /** When the credential stops being valid (ms since epoch). */
  readonly expiresAt?: number;
  /** Browser session id (session source only). */
  readonly sessionId?: string;
  /** The OAuth client the token was issued to (bearer tokens). */
  readonly clientId?: string;
  /** External tokens: the issuer that vouches for `sub` (absent when configured as the login's own users). */
  readonly issuer?: string;
  /** The grant of an access token this proxy's authorization server issued. */
  readonly grantId?: string;
}

/**
 * Who a principal is, as one string: `sub` alone for the proxy's own login (browser session,
 * this authorization server's tokens, external issuers configured with `sameUsers`);
 * `apikey:<name>` for an API key; `<issuer>#<sub>` for another issuer's tokens. Policy
 * (`allow.subjects`), session ownership, per-user processes, logout and rate-limit keys all
 * use it, so an `alice` from another source is never the login's alice.
 */
export function principalKey(p: Pick<Principal, 'sub' | 'source' | 'apiKey' | 'issuer'>): string {
  switch (p.source) {
    case 'apikey':
      return `apikey:${p.apiKey ?? p.sub}`;
    case 'external':
      return p.issuer ? `${p.issuer}#${p.sub}` : p.sub;
    default:
      return p.sub;
  }
}

/** The identity claims a backend is told about (headers, assertion, _meta). */
export function identityClaims(p: Principal): { sub: string; email?: string; name?: string; groups: string[]; tenant?: string } {
  return { sub: p.sub, email: p.email, name: p.name, groups: [...p.groups], tenant: p.tenant };
}

/** Read a groups claim that IdPs send as an array, a comma list or a space list. */
export function readGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string') return value.split(/[,\s]+/).filter(Boolean);
  return [];
}
