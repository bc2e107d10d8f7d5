/**
 * The upstream-credential parts, built together for the composition root: each user's `oauth`
 * connections, the logins kept with the authorization server's grants (subject tokens of its
 * MCP clients), and the credentials backends receive (src/upstream/).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/load.js';
import type { Metrics } from '../observability/metrics.js';
import type { UpstreamClient } from '../oidc/client.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Store } from '../store/store.js';
import { UpstreamCredentials } from '../upstream/credentials.js';
import { GrantTokens } from '../upstream/grant-tokens.js';
import { createOAuthUpstream } from '../upstream/oauth.js';

export function buildUpstream(d: {
  config: Config;
  store: Store;
  client?: UpstreamClient;
  tokens: SessionTokens;
  log: FastifyBaseLogger;
  metrics?: Metrics;
  fetch?: typeof fetch;
  /** A backend's own fetch (its `http.tls`: src/lib/outbound-tls.ts). */
  backendFetch?: (backend: Config['backends'][number]) => typeof fetch | undefined;
}) {
  const { config, store, client, tokens, log, metrics } = d;
  const oauth = createOAuthUpstream({
    store,
    publicUrl: config.server.publicUrl,
    log,
    fetch: d.fetch,
    backendFetch: d.backendFetch,
    count: metrics && ((backend, result) => metrics.upstreamToken(backend, 'oauth', result)),
  });
  // MCP clients of the authorization server keep the upstream login they were let in with (their subject token).
  const grantTokens = new GrantTokens(store, tokens, client, config.authorizationServer.refreshTokenTtl, log);
  const credentials = new UpstreamCredentials({
    client,
    tokens,
    grants: grantTokens,
    log,
    fetch: d.fetch,
    count: metrics && ((backend, kind, result) => metrics.upstreamToken(backend, kind, result)),
    oauth: oauth.tokens,
  });
  return {
    oauth,
    grantTokens,
    credentials,
    /** Log out everywhere, back-channel logout: the user's connections to the `oauth` backends among `backends`. */
    forgetConnections: (sub: string, backends: readonly Backend[]) =>
      oauth.tokens.forgetAll(
        backends.filter((b) => b.config.upstream?.kind === 'oauth').map((b) => b.config),
        sub,
      ),
  };
}
