/** The one Principal type: who is calling, whatever proved it. */
export type PrincipalSource = 'session' | 'bearer' | 'external' | 'apikey' | 'clientCertificate';

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
  /** `clientCertificates[].name` of a client certificate principal. */
  readonly certificate?: string;
  /** When the credential stops being valid (ms since epoch). */
  readonly expiresAt?: number;
  /** Browser session id (session source only). */
  readonly sessionId?: string;
  /** The OAuth client the token was issued to (bearer tokens). */
  readonly clientId?: string;
  /**
   * External tokens, and ID-JAG users of this authorization server: the issuer that vouches for `sub`
   * (absent when configured as the login's own users).
   */
  readonly issuer?: string;
  /** The grant of an access token this proxy's authorization server issued. */
  readonly grantId?: string;
}

/**
 * Who a principal is, as one string: `sub` alone for the proxy's own login (browser session,
 * this authorization server's tokens, external issuers configured with `sameUsers`);
 * `apikey:<name>` for an API key; `cert:<name>` for a client certificate; `<issuer>#<sub>` for
 * another issuer's tokens. Policy (`allow.subjects`), session ownership, per-user processes,
 * logout and rate-limit keys all use it, so an `alice` from another source is never the login's alice.
 */
export function principalKey(p: Pick<Principal, 'sub' | 'source' | 'apiKey' | 'issuer' | 'certificate'>): string {
  switch (p.source) {
    case 'apikey':
      return `apikey:${p.apiKey ?? p.sub}`;
    case 'clientCertificate':
      return `cert:${p.certificate ?? p.sub}`;
    case 'external':
    case 'bearer': // this authorization server's tokens for an enterprise IdP's users (ID-JAG)
      return p.issuer ? `${p.issuer}#${p.sub}` : p.sub;
    default:
      return p.sub;
  }
}

/** The identity claims a backend is told about (headers, assertion, _meta). */
export function identityClaims(p: Principal): {
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  tenant?: string;
} {
  return { sub: p.sub, email: p.email, name: p.name, groups: [...p.groups], tenant: p.tenant };
}

/** Read a groups claim that IdPs send as an array, a comma list or a space list. */
export function readGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string') return value.split(/[,\s]+/).filter(Boolean);
  return [];
}

/** Read scopes sent as an array or as an OAuth space-separated list. */
export function readScopes(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}

/** A claim as a non-empty string, or undefined. */
export function claimText(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

/** What an identity source knows; `groups` and `scopes` as the credential carried them (array or list). */
export type PrincipalFields = Omit<Principal, 'groups' | 'scopes'> & { groups?: unknown; scopes?: unknown };

const NONE: readonly string[] = Object.freeze([]);
const frozenList = (list: string[]): readonly string[] => (list.length ? Object.freeze(list) : NONE);

/**
 * The one way a Principal is made, by every identity source (docs/ARCHITECTURE.md, "Adding an
 * identity source"): groups and scopes read into string lists, fields left undefined dropped,
 * the whole frozen (nothing downstream may change who is calling).
 */
export function makePrincipal(fields: PrincipalFields): Principal {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields) as Array<keyof PrincipalFields>)
    if (fields[key] !== undefined) out[key] = fields[key];
  out.groups = frozenList(readGroups(fields.groups));
  out.scopes = frozenList(readScopes(fields.scopes));
  return Object.freeze(out) as unknown as Principal;
}

/** What a configured credential (`apiKeys[]`, `clientCertificates[]`) says of whoever presents it. */
export interface ConfiguredHolder {
  name: string;
  subject: string;
  email?: string;
  groups?: unknown;
  tenant?: string;
  scopes?: unknown;
}

/** The principal of a configured credential, named by `apiKey` or `certificate` (its `name`). */
export function configuredPrincipal(c: ConfiguredHolder, source: 'apikey' | 'clientCertificate'): Principal {
  return makePrincipal({
    sub: c.subject,
    email: c.email,
    groups: c.groups,
    tenant: c.tenant,
    scopes: c.scopes,
    source,
    ...(source === 'apikey' ? { apiKey: c.name } : { certificate: c.name }),
  });
}
