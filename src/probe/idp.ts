/**
 * The upstream IdP as the proxy will use it: discovery through src/oidc/client.ts (so each preset's
 * quirks apply), then its JWKS; an OAuth 2.0 preset without discovery (GitHub): its token endpoint answers.
 */
import type { Config } from '../config/load.js';
import { UpstreamClient } from '../oidc/client.js';
import { describeError, ProbeFailure } from './cause.js';
import { jwksKeys, keyCount, reach, shownUrl } from './http.js';
import type { Probe, ProbeNet } from './types.js';

export function idpProbes(config: Config, net: ProbeNet): Probe[] {
  const oidc = config.oidc;
  // The embedded dev IdP runs inside the proxy: there is nothing to reach before it starts.
  if (!oidc || config.devIdp?.enabled) return [];
  return [{ what: 'idp', target: shownUrl(oidc.issuer), run: (signal) => probeIdp(oidc, signal, net) }];
}

async function probeIdp(oidc: NonNullable<Config['oidc']>, signal: AbortSignal, net: ProbeNet): Promise<string> {
  let networkError: unknown;
  let refused: string | undefined;
  const watched: typeof fetch = async (input, init) => {
    const mixed = init?.signal ? AbortSignal.any([init.signal, signal]) : signal;
    const res = await net.fetch(input, { ...init, signal: mixed }).catch((e) => {
      networkError = e;
      throw e;
    });
    if (!res.ok) refused = `HTTP ${res.status} from ${shownUrl(String(input instanceof Request ? input.url : input))}`;
    return res;
  };
  const client = new UpstreamClient(oidc, watched);
  let meta: Awaited<ReturnType<UpstreamClient['get']>>;
  try {
    meta = await client.get();
  } catch {
    if (networkError) throw networkError;
    throw new ProbeFailure(`discovery: ${refused ?? client.lastError ?? 'failed'}`);
  }
  const server = meta.serverMetadata();
  if (client.preset.oauth2) {
    if (!server.token_endpoint) return 'no discovery (OAuth 2.0 preset)';
    return `token endpoint ${await reach(server.token_endpoint, signal, net.dispatcher)}`;
  }
  if (!server.jwks_uri) throw new ProbeFailure('discovery: the metadata names no jwks_uri');
  try {
    return `discovery and JWKS (${keyCount(await jwksKeys(server.jwks_uri, signal, net.fetch))})`;
  } catch (e) {
    throw new ProbeFailure(`jwks ${shownUrl(server.jwks_uri)}: ${describeError(e)}`);
  }
}
