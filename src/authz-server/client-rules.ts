/**
 * What clients of the authorization server may name, and what it fetches for them: redirect
 * URIs (https or loopback http, any loopback port, the moves `redirectUriPatterns` allows),
 * `jwks_uri` and metadata-document URLs that are not special-use addresses (checked before
 * connecting), the operator's own JWKS URLs exempt. Hooks into oidc-provider, which has no option for these.
 */
import { lookup } from 'node:dns/promises';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { guardedFetch, isHttpsOrLoopbackHttp, isLoopbackHost, isSpecialUseAddress } from '../lib/net.js';
import type { PatternClient } from '../lib/redirect-patterns.js';
import { keepOpenGrants } from './client-quirks.js';
import type { MachineClients } from './machine-clients.js';

/**
 * Tests only: a host (`127.0.0.1:port`) whose Client ID Metadata Documents may be fetched
 * despite being loopback, with a fetch that trusts its test certificate. Never from config.
 */
export interface CimdTestOrigin {
  host: string;
  fetch: typeof fetch;
}

/**
 * The provider's one outbound fetch (client jwks_uri, metadata documents): special-use addresses are refused before
 * connecting (oidc-provider's own guard cuts the socket only after the TCP handshake); the operator's own JWKS URLs
 * (authorizationServer.clients) may be loopback, like oidc.issuer; only the test origin bypasses the rest.
 */
export function providerFetch(
  machines: MachineClients,
  testOrigin?: CimdTestOrigin,
  operator: typeof fetch = fetch,
): typeof fetch {
  return operatorFetch(machines, testOrigin ? testOriginFetch(testOrigin) : guardedFetch, operator);
}

/** Whether a Client ID Metadata Document may be fetched: https, and not a special-use address by name or lookup. */
export async function cimdFetchAllowed(clientId: string, testOrigin?: CimdTestOrigin): Promise<boolean> {
  const u = URL.parse(clientId);
  if (u?.protocol !== 'https:') return false;
  if (testOrigin?.host === u.host) return true;
  return !isLoopbackHost(u.hostname) && !isSpecialUseAddress(u.hostname) && !(await resolvesToSpecialUse(u.hostname));
}

/** oidc-provider hands every fetch its guarding dispatcher: the operator's own URLs go without it. */
function operatorFetch(machines: MachineClients, other: typeof fetch, operator: typeof fetch): typeof fetch {
  return (input, init) => {
    if (!machines.isConfiguredJwksUri(input instanceof Request ? input.url : String(input))) return other(input, init);
    const { dispatcher: _guard, ...plain } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
    return operator(input, plain);
  };
}

function testOriginFetch(origin: CimdTestOrigin): typeof fetch {
  return (input, init) =>
    new URL(input instanceof Request ? input.url : input).host === origin.host
      ? origin.fetch(input, init)
      : guardedFetch(input, init);
}

/**
 * What a client may name: redirect URIs that are https or loopback http (MCP), so a code is
 * never sent in clear to another host; a jwks_uri the proxy will fetch that is https and not a
 * special-use or loopback address. Anything else is refused at registration. A `scope` it names is dropped.
 */
export function clientUrlRules(ctx: unknown, key: string, value: unknown, metadata: Record<string, unknown>): void {
  if (key === 'redirect_uris') keepOpenGrants(metadata);
  // A client's own `scope` (registration or metadata document) would cap it for good: the MCP SDK registers with
  // the scope of the first 401 challenge (`mcp`) and could never step up. Scopes stay bounded by the resource,
  // consent and policy. Configured clients keep theirs (they are loaded without a request context).
  if (key === 'scope' && (ctx !== undefined || String(metadata.client_id).startsWith('https://')))
    delete metadata.scope;
  if (key === 'redirect_uris' && Array.isArray(value)) {
    const bad = value.find((u) => !isHttpsOrLoopbackHttp(u));
    if (bad !== undefined)
      throw new errors.InvalidClientMetadata(
        `redirect_uris must be https or loopback http URLs (${String(bad).slice(0, 100)})`,
      );
  }
  if (key === 'jwks_uri' && value !== undefined) {
    const u = typeof value === 'string' ? URL.parse(value) : null;
    if (u?.protocol !== 'https:' || isLoopbackHost(u.hostname) || isSpecialUseAddress(u.hostname))
      throw new errors.InvalidClientMetadata('jwks_uri must be an https: URL of a public host');
  }
}

/**
 * Refuse names that resolve to special-use addresses before connecting at all (the provider re-checks at connect time).
 */
async function resolvesToSpecialUse(hostname: string): Promise<boolean> {
  try {
    const addrs = await lookup(hostname, { all: true });
    return addrs.some((a) => isLoopbackHost(a.address) || isSpecialUseAddress(a.address));
  } catch {
    return false; // unresolvable: the fetch fails on its own
  }
}

/**
 * RFC 8252 §7.3: a loopback redirect URI matches on any port. oidc-provider does this only
 * for `application_type: native`; Claude Code and Inspector register as web clients. Then the
 * callbacks a known client may move between (`redirectUriPatterns`).
 */
export function allowLoopbackRedirects(provider: Provider, moved: (c: PatternClient, value: string) => boolean): void {
  const proto = provider.Client.prototype as unknown as PatternClient & { redirectUriAllowed(v: string): boolean };
  const original = proto.redirectUriAllowed;
  proto.redirectUriAllowed = function (this: typeof proto, value: string) {
    if (original.call(this, value) || moved(this, value)) return true;
    const u = URL.parse(value);
    // Only the port may differ (RFC 8252 §7.3): no userinfo, no fragment (RFC 6749 §3.1.2).
    if (u?.protocol !== 'http:' || !isLoopbackHost(u.hostname) || u.username || u.password || value.includes('#'))
      return false;
    return this.redirectUris.some((r) => {
      const a = URL.parse(r);
      return (
        !!a && a.protocol === 'http:' && a.hostname === u.hostname && a.pathname === u.pathname && a.search === u.search
      );
    });
  };
}
