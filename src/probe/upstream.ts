/**
 * Authorization servers the backends' upstream credentials come from: an `oauth` upstream's server
 * metadata (found as src/upstream/oauth-discovery.ts finds it), a configured token endpoint answers.
 */
import type { Config } from '../config/load.js';
import { AuthServerDiscovery } from '../upstream/oauth-discovery.js';
import { ProbeFailure } from './cause.js';
import { reach, shownUrl } from './http.js';
import type { Probe, ProbeNet } from './types.js';

export function upstreamProbes(config: Config, net: ProbeNet): Probe[] {
  const probes: Probe[] = [];
  for (const b of config.backends) {
    const u = b.upstream;
    const what = `backend ${b.name} upstream`;
    if (u?.kind === 'oauth') {
      const target = shownUrl(u.issuer ?? `${b.http?.url ?? ''} (RFC 9728 metadata)`);
      probes.push({ what, target, run: (signal) => metadata(b, signal, net) });
    } else if (u && 'tokenEndpoint' in u && u.tokenEndpoint) {
      const endpoint = u.tokenEndpoint;
      probes.push({ what, target: shownUrl(endpoint), run: (signal) => reach(endpoint, signal, net.dispatcher) });
    }
  }
  return probes;
}

async function metadata(backend: Config['backends'][number], signal: AbortSignal, net: ProbeNet): Promise<string> {
  const get = net.fetch;
  let networkError: unknown;
  const watched: typeof fetch = (input, init) =>
    get(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }).catch((e) => {
      networkError = e;
      throw e;
    });
  try {
    const own = (b: Config['backends'][number]) => net.tls.backendFetch(b.http?.tls, `backend "${b.name}" http.tls`);
    const found = await new AuthServerDiscovery(watched, own).get(backend);
    return `metadata of ${found.issuer}`;
  } catch (e) {
    if (networkError) throw networkError;
    throw new ProbeFailure((e as Error).message);
  }
}
