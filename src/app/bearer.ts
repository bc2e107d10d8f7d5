/**
 * The bearer credentials the proxy accepts, built for the composition root: its own
 * authorization server's tokens (DPoP-checked when bound), external JWTs, introspected tokens
 * and API keys (read live), as one identity source (src/tokens/).
 */
import type { LiveGrants } from '../authz-server/live-grants.js';
import type { Config } from '../config/load.js';
import type { LiveState } from '../live.js';
import type { SigningKey } from '../propagation/keys.js';
import type { Store } from '../store/index.js';
import { bearerSource } from '../tokens/bearer.js';
import { DpopVerifier } from '../tokens/dpop.js';
import { ExternalJwtVerifier } from '../tokens/external-jwt.js';
import { IntrospectionVerifier, proxyAudiences } from '../tokens/introspection.js';
import { ProxyTokenVerifier } from '../tokens/proxy-jwt.js';

export function buildBearer(d: {
  config: Config;
  /** Whether this proxy runs its authorization server (its tokens are accepted only then). */
  issuesTokens: boolean;
  key: SigningKey;
  store: Store;
  grants: LiveGrants;
  live: { readonly current: LiveState };
  fetch?: typeof fetch;
}) {
  const { config, key, store, live } = d;
  const publicUrl = config.server.publicUrl;
  const ext = config.externalTokens;
  // DPoP at the resource for the tokens of our authorization server (RFC 9449); replays claimed in the store.
  const dpop = d.issuesTokens
    ? new DpopVerifier({
        mode: config.authorizationServer.dpop,
        publicUrl,
        store,
        nonceSecret: config.authorizationServer.dpopNonce ? config.session.keys[0] : undefined,
      })
    : undefined;
  const machineClients = new Set(config.authorizationServer.clients.map((c) => c.clientId));
  const bearer = bearerSource({
    dpop,
    publicUrl,
    live,
    proxy: d.issuesTokens ? new ProxyTokenVerifier([key], publicUrl, d.grants, machineClients) : undefined,
    external: ext?.jwt.length ? new ExternalJwtVerifier(ext.jwt, { fetch: d.fetch }) : undefined,
    introspection: ext?.introspection
      ? new IntrospectionVerifier(ext.introspection, {
          fetch: d.fetch,
          defaultAudience: () => proxyAudiences(publicUrl, live.current.resources),
        })
      : undefined,
  });
  return { bearer, dpop };
}
