/**
 * Issuers of tokens the proxy accepts from others: each `externalTokens.jwt` issuer's JWKS (its
 * `jwksUri`, else the one its discovery names), the introspection endpoint, and the JWKS URLs of
 * enterprise IdPs and machine clients.
 */
import type { Config } from '../config/load.js';
import { describeError, ProbeFailure } from './cause.js';
import { jwksKeys, keyCount, reach, shownUrl } from './http.js';
import type { Probe, ProbeNet } from './types.js';

export function tokenProbes(config: Config, net: ProbeNet): Probe[] {
  const keys = async (url: string, signal: AbortSignal) => keyCount(await jwksKeys(url, signal, net.fetch));
  const discovered = (issuer: string, signal: AbortSignal) => discover(issuer, signal, net.fetch);
  const probes: Probe[] = [];
  (config.externalTokens?.jwt ?? []).forEach((jwt, i) => {
    const uri = jwt.jwksUri;
    const what = `externalTokens.jwt[${i}]`;
    probes.push(
      uri
        ? { what, target: shownUrl(uri), run: (s) => keys(uri, s) }
        : { what, target: shownUrl(jwt.issuer), run: (s) => discovered(jwt.issuer, s) },
    );
  });
  const introspection = config.externalTokens?.introspection;
  if (introspection)
    probes.push({
      what: 'externalTokens.introspection',
      target: shownUrl(introspection.endpoint),
      run: (s) => reach(introspection.endpoint, s, net.dispatcher),
    });
  config.authorizationServer.enterpriseIdps.forEach((idp, i) => {
    const uri = idp.jwksUri;
    if (uri) probes.push({ what: `enterpriseIdps[${i}]`, target: shownUrl(uri), run: (s) => keys(uri, s) });
  });
  for (const client of config.authorizationServer.clients)
    if (client.jwksUri) {
      const uri = client.jwksUri;
      probes.push({ what: `client ${client.clientId} jwks`, target: shownUrl(uri), run: (s) => keys(uri, s) });
    }
  return probes;
}

/** As src/tokens/external-jwt.ts finds the keys: OpenID discovery, then RFC 8414; then the JWKS. */
async function discover(issuer: string, signal: AbortSignal, get: typeof fetch): Promise<string> {
  const keys = async (url: string) => keyCount(await jwksKeys(url, signal, get));
  const base = issuer.replace(/\/+$/, '');
  const u = new URL(base);
  const candidates = [
    `${base}/.well-known/openid-configuration`,
    `${u.origin}/.well-known/oauth-authorization-server${u.pathname === '/' ? '' : u.pathname}`,
  ];
  for (const url of candidates) {
    const res = await get(url, { headers: { accept: 'application/json' }, signal });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      continue;
    }
    const doc = (await res.json().catch(() => ({}))) as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== issuer) throw new ProbeFailure(`discovery: issuer mismatch (${String(doc.issuer)})`);
    if (typeof doc.jwks_uri !== 'string') throw new ProbeFailure('discovery: no jwks_uri');
    try {
      return `discovery and JWKS (${await keys(doc.jwks_uri)})`;
    } catch (e) {
      throw new ProbeFailure(`jwks ${shownUrl(doc.jwks_uri)}: ${describeError(e)}`);
    }
  }
  throw new ProbeFailure('discovery: no metadata document found');
}
