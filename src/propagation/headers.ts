/**
 * Headers a backend receives: the client's, minus hop-by-hop headers, credentials and any
 * identity header the client tried to set; plus ours. Header names are a contract (README, "What a backend receives").
 */
import type { IncomingHttpHeaders } from 'node:http';
import { identityClaims, type Principal } from '../identity/principal.js';
import { hopByHopAnd } from '../lib/hop-by-hop.js';

export const IDENTITY_HEADERS = {
  user: 'x-forwarded-user',
  email: 'x-forwarded-email',
  groups: 'x-forwarded-groups',
  tenant: 'x-forwarded-tenant',
  assertion: 'x-mcp-proxy-assertion',
} as const;

/** Client headers never passed on: hop-by-hop ones, credentials, and what the proxy sets itself. */
const DROP = hopByHopAnd(
  'host',
  'proxy-authenticate',
  'proxy-authorization',
  'expect',
  'cookie',
  'authorization',
  'dpop',
  'x-api-key',
  'accept-encoding',
  'forwarded',
  'x-real-ip',
);

/**
 * A header name as a backend may read it: CGI, WSGI, PHP and Rack turn `X-Forwarded-User`,
 * `X_Forwarded_User` and `x-forwarded_user` alike into `HTTP_X_FORWARDED_USER`.
 */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/**
 * Is this client header one we never pass on (spelled with `-` or
 * `_`, any case)? `ours`: canonical names the proxy sets itself.
 */
export function isStrippedRequestHeader(name: string, ours?: ReadonlySet<string>): boolean {
  const n = canonicalHeaderName(name);
  return (
    DROP.has(n) ||
    n.startsWith(':') || // HTTP/2 pseudo-headers (`:authority`, `:path`, …) belong to the client's connection
    n.startsWith('x-forwarded-') ||
    n.startsWith('x-mcp-proxy-') ||
    n.startsWith('x-auth-request-') ||
    ours?.has(n) === true
  );
}

/** Header values must be ASCII without control characters: anything else is percent-encoded. */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

export interface UpstreamHeaderOptions {
  principal: Principal;
  assertion?: string;
  clientIp: string;
  publicUrl: URL;
  extra?: Record<string, string>;
  identityHeaders?: boolean;
  /** Set only for backends with forwardAccessToken: the upstream IdP access token. */
  accessToken?: string;
}

export function upstreamHeaders(incoming: IncomingHttpHeaders, o: UpstreamHeaderOptions): Record<string, string> {
  const out: Record<string, string> = {};
  // The backend's configured headers are ours too: a client's copy (any spelling) would sit next to them.
  const ours = o.extra && new Set(Object.keys(o.extra).map(canonicalHeaderName));
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || isStrippedRequestHeader(name, ours)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  Object.assign(out, o.extra);
  out['x-forwarded-for'] = o.clientIp;
  out['x-forwarded-proto'] = o.publicUrl.protocol.slice(0, -1);
  out['x-forwarded-host'] = o.publicUrl.host;
  if (o.identityHeaders !== false) {
    const c = identityClaims(o.principal);
    out[IDENTITY_HEADERS.user] = headerSafe(c.sub);
    out[IDENTITY_HEADERS.email] = headerSafe(c.email ?? '');
    out[IDENTITY_HEADERS.groups] = headerSafe(c.groups.join(','));
    out[IDENTITY_HEADERS.tenant] = headerSafe(c.tenant ?? '');
  }
  if (o.assertion) out[IDENTITY_HEADERS.assertion] = o.assertion;
  if (o.accessToken) out.authorization = `Bearer ${o.accessToken}`;
  return out;
}
