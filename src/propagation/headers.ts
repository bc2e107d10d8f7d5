/**
 * Headers a backend receives: the client's, minus hop-by-hop headers, credentials and any
 * identity header the client tried to set; plus ours. Header names are a contract (DESIGN §6).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { identityClaims, type Principal } from '../identity/principal.js';

export const IDENTITY_HEADERS = {
  user: 'x-forwarded-user',
  email: 'x-forwarded-email',
  groups: 'x-forwarded-groups',
  tenant: 'x-forwarded-tenant',
  assertion: 'x-mcp-proxy-assertion',
} as const;

const DROP = new Set([
  'host', 'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'expect',
  'cookie', 'authorization', 'x-api-key', 'accept-encoding', 'forwarded', 'x-real-ip',
]);

/** Is this client header one we never pass on? */
export function isStrippedRequestHeader(name: string): boolean {
  return DROP.has(name) || name.startsWith('x-forwarded-') || name.startsWith('x-mcp-proxy-') || name.startsWith('x-auth-request-');
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
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || isStrippedRequestHeader(name)) continue;
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
