/**
 * buildApp(config, deps): the composition root. It builds the services, the first live state
 * (./live-state.ts, the same function a reload uses) and the whole pipeline, registered
 * explicitly in the order a request meets it (docs/ARCHITECTURE.md, "Pipeline"). It never
 * listens; cli.ts does.
 *
 *   security → session cookies → identity → routes (oauth, mcp, pages, health) → errors
 */
import '../lib/supported-runtime.js'; // first: before oidc-provider is loaded
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config, LoadResult } from '../config/load.js';
import { authorizationServerPlugin } from '../authz-server/plugin.js';
import { endAsSession } from '../authz-server/browser-session.js';
import { createAuthorizationServer, type CimdTestOrigin } from '../authz-server/provider.js';
import { resourceMetadataRoutes } from '../authz-server/resource-metadata.js';
import { LiveGrants } from '../authz-server/live-grants.js';
import { revokeUserGrants } from '../authz-server/adapter.js';
import { BackendRegistry, defaultFactory, type BackendDeps, type BackendFactory } from '../backends/registry.js';
import { OutboundTls } from '../lib/outbound-tls.js';
import { nextLiveState, type LiveState } from './live-state.js';
import { createReloader, type ReloadResult } from './reload.js';
import identity from '../identity/resolve.js';
import { withTenant } from '../identity/tenant.js';
import { sessionSource } from '../identity/session-source.js';
import { mcpRoutes } from '../mcp/routes.js';
import { Replicas } from '../mcp/replicas.js';
import { SessionIds } from '../mcp/session-owners.js';
import { UpstreamClient, type FetchLike } from '../oidc/client.js';
import { oidcRoutes } from '../oidc/routes.js';
import { registerErrorHandling } from '../observability/error-handler.js';
import { healthRoutes } from '../observability/health.js';
import { Metrics, metricsRoutes } from '../observability/metrics.js';
import { loadTracing, tracingHooks } from '../observability/tracing.js';
import { isMcpPath } from '../lib/paths.js';
import { AuditLog } from '../observability/audit.js';
import { AssertionSigner } from '../propagation/assertion.js';
import { jwksRoute } from '../propagation/jwks.js';
import { loadSigningKey, type SigningKey } from '../propagation/keys.js';
import cors from '../security/cors.js';
import rateLimits from '../security/rate-limit.js';
import { lingeringClose } from '../security/lingering-close.js';
import security from '../security/plugin.js';
import session from '../session/plugin.js';
import { SessionTokens } from '../session/tokens.js';
import { buildUpstream } from './upstream.js';
import { createFastify, registerDevIdp } from './fastify.js';
import { accessLog } from '../observability/logger.js';
import { requestIdHeader } from '../observability/request-id.js';
import { TlsReloader, type SecureServer } from './tls.js';
import { buildBearer } from './bearer.js';
import { Logout } from '../session/logout.js';
import { LogoutEvents } from '../session/logout-events.js';
import { OpenStreams } from '../mcp/streams.js';
import { createStore, redisOf, type Store } from '../store/index.js';
import { ObservedStore } from '../store/observed.js';
import { VirtualBackend } from '../backends/virtual/backend.js';
import { PrincipalHandoff } from '../identity/handoff.js';
import { RestMcpClients } from '../web/mcp-client.js';
import { registerWebRoutes } from './web-routes.js';
import { closeOnShutdown } from './shutdown.js';
import { LastUsed } from '../identity/last-used.js';
import { clientCertificateSource } from '../identity/client-certificates.js';

export interface AppDeps {
  /** fetch used for every call to the IdP (tests inject one). */
  fetch?: FetchLike;
  /** Where log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
  /** Where audit lines go (default: the log stream, else stdout). */
  auditStream?: NodeJS.WritableStream;
  store?: Store;
  signingKey?: SigningKey;
  backendFactory?: BackendFactory;
  /**
   * Measurement only (bench/tls-h2.ts), not a config key: with `server.tls`, serve HTTP/2 by ALPN
   * with HTTP/1.1 beside it (README, "TLS and certificates", says why it is not offered).
   */
  http2?: boolean;
  /** Tests only: a loopback https origin allowed to serve Client ID Metadata Documents. */
  cimdTestOrigin?: CimdTestOrigin;
}

export interface ProxyApp {
  app: FastifyInstance;
  config: Config;
  backends: BackendRegistry;
  client?: UpstreamClient;
  /** Apply a new config without downtime (./reload.ts): backends, policy, tenants, apiKeys, clientCertificates. */
  reload(next: Config | LoadResult): ReloadResult;
  /** With `server.tls`: the listener's files, watched; `reload()` re-reads them (SIGHUP). */
  tls?: TlsReloader;
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<ProxyApp> {
  const { app, listener } = createFastify(config, deps);
  const metrics = config.metrics.enabled ? new Metrics() : undefined;
  const createdStore = deps.store ?? createStore(config.store, config.session.keys);
  // Failed store calls are counted (mcp_proxy_store_errors_total).
  const store: Store = metrics ? new ObservedStore(createdStore, (op) => metrics.storeError(op)) : createdStore;
  // State other replicas must see (session owners, relaying): only with a shared store.
  const shared = config.store.kind === 'memory' ? undefined : store;
  const key = deps.signingKey ?? (await loadSigningKey(config.signing?.keyFile));
  // Every outbound call trusts Node's roots plus `tls.ca` (DESIGN.md §13); tests may inject their own fetch.
  const outbound = new OutboundTls(config.tls);
  const outFetch = deps.fetch ?? (outbound.ca ? outbound.fetch : undefined);
  const client = config.oidc ? new UpstreamClient(config.oidc, outFetch) : undefined;
  const tokens = new SessionTokens(store, client, config.session.maxAge, app.log);
  const {
    oauth,
    grantTokens,
    credentials: upstream,
    forgetConnections,
  } = buildUpstream({
    config,
    store,
    client,
    tokens,
    log: app.log,
    metrics,
    fetch: outFetch,
    backendFetch: (b) => outbound.backendFetch(b.http?.tls, `backend "${b.name}" http.tls`),
  });
  const replicas =
    shared && config.server.advertiseUrl
      ? new Replicas(shared, config.server.advertiseUrl, config.session.keys[0]!, outbound.ca)
      : undefined;
  // What a reload may change (backends, policy, tenants, API keys, MCP resources): one immutable
  // state, built here and at each reload by the same function, swapped by one assignment.
  const backendDeps: BackendDeps = {
    log: app.log,
    store: shared,
    replicas,
    enforced: () => live.current.enforce,
    sessionIds: new SessionIds(config.session.keys),
    upstream,
    tls: outbound,
  };
  const factory = deps.backendFactory ?? defaultFactory;
  // Virtual servers reach their members through this app's own routes, as the client's principal.
  const handoff = new PrincipalHandoff();
  const virtualDeps = { inject: () => app.inject.bind(app), handoff, publicUrl: config.server.publicUrl, log: app.log };
  const nextState = (c: Config, prior?: LiveState) =>
    nextLiveState(
      c,
      prior,
      (cfg) => factory(cfg, backendDeps),
      (v) => new VirtualBackend(v, virtualDeps),
    );
  const live: { current: LiveState } = { current: nextState(config).state };
  const backends = new BackendRegistry(() => live.current.backends);
  const signer = new AssertionSigner(key, config.server.publicUrl);
  // The authorization server MCP clients use: on when users can log in (oidc or dev IdP).
  const as = config.oidc && config.authorizationServer.enabled ? config.authorizationServer : undefined;
  const grants = new LiveGrants(store);
  const provider = as
    ? createAuthorizationServer({
        config,
        as,
        key,
        store,
        resources: () => live.current.resources,
        defaultResource: backends.defaultName ? `${config.server.publicUrl}/mcp` : undefined,
        cimdTestOrigin: deps.cimdTestOrigin,
        tenants: () => live.current.tenants,
        fetch: outbound.ca ? outbound.fetch : undefined,
      })
    : undefined;
  const audit = new AuditLog(deps.auditStream ?? deps.logStream, config.audit.file);
  const { bearer, dpop } = buildBearer({
    config,
    issuesTokens: provider !== undefined,
    key,
    store,
    grants,
    live,
    fetch: outFetch,
  });

  // Tracing (DESIGN §13): the SDK is loaded only when configured; the server span starts before any other hook.
  const tracing = await loadTracing(config.telemetry);
  if (tracing) tracingHooks(app, tracing);
  registerErrorHandling(app, { backendConfig: (name) => live.current.config.backends.find((b) => b.name === name) });
  requestIdHeader(app);
  // Answers sent before the body was read reach a client still sending it (no reset).
  lingeringClose(app);
  // MCP requests get an audit line instead, unless audit lines go to a file of their own.
  accessLog(app, config.server.logLevel, deps.logStream, config.audit.file || deps.auditStream ? undefined : isMcpPath);
  // 1. security: headers, Host and Origin checks, CORS for allowed browser origins
  await app.register(security, { config });
  await app.register(cors, { config });
  await app.register(rateLimits, {
    config,
    redis: redisOf(store),
    paths: {
      register:
        provider && config.authorizationServer.registration === 'open' ? provider.pathFor('registration') : undefined,
      token: provider?.pathFor('token'),
      device: provider?.pathFor('device_authorization'),
    },
  });
  // 2. sessions: encrypted cookies decoded
  await app.register(session, { config });
  // 3. identity: the first source that recognises the request wins
  await app.register(identity, {
    sources: [
      handoff.source,
      clientCertificateSource(live),
      bearer,
      sessionSource({ idleMs: config.session.idleTimeout, tokens, tenants: () => live.current.tenants }),
    ],
    enrich: (p) => withTenant(live.current.tenants, p),
  });
  if (dpop && dpop.mode !== 'off') app.addHook('onSend', dpop.onSend);
  // When each API key (and client certificate) was last used, for the admin console.
  const lastUsed = new LastUsed(store);
  app.addHook('onRequest', async (req) => lastUsed.touchPrincipal(req.principal));
  // 4. routes
  const restClients = new RestMcpClients(app, config.server.publicUrl);
  const streams = new OpenStreams();
  const logout = new Logout({
    store,
    tokens,
    ttlMs: config.session.maxAge,
    log: app.log,
    events: new LogoutEvents(store, app.log),
    closeRestSessions: (sid) => restClients.endSession(sid),
    closeStreams: (which) => streams.close(which),
    endBackendSessions: (sub) => backends.endUser(sub),
    revokeGrants: provider ? (sub) => revokeUserGrants(store, sub, grantGone) : undefined,
    forgetGrant: (gid) => grants.forget(gid),
    removeConnections: (sub) => forgetConnections(sub, live.current.backends.all()),
  });
  /** A grant deleted (revocation, reuse, logout everywhere): its upstream login goes with it. */
  async function grantGone(gid: string): Promise<void> {
    await grantTokens
      .remove(gid)
      .catch((e: Error) =>
        app.log.warn({ event: 'store.unavailable', reason: e.message }, "a grant's upstream login was not deleted"),
      );
    await logout.grantRevoked(gid);
  }
  const secure = config.server.publicUrl.startsWith('https:');
  const endBrowserSessions = provider
    ? (req: FastifyRequest, reply: FastifyReply) => endAsSession(provider, req, reply, secure)
    : undefined;
  await app.register(oidcRoutes, {
    config,
    client,
    tokens,
    logout,
    store,
    metrics,
    live,
    endBrowserSessions,
    upstreamLoginKept: provider ? (sid) => grantTokens.heldByGrants(sid) : undefined,
  });
  await app.register(mcpRoutes, { config, signer, tokens, upstream, audit, streams, live });
  await app.register(jwksRoute, { keys: [key] });
  await registerWebRoutes(app, {
    config,
    live,
    audit,
    store,
    logout,
    tokens,
    oauth,
    clients: restClients,
    lastUsed,
    grantGone: provider ? grantGone : undefined,
  });
  await app.register(healthRoutes, {
    backends,
    client,
    store: { kind: config.store.kind, ready: store.ready?.bind(store) },
  });
  if (metrics) await app.register(metricsRoutes, { metrics, backends, streams });
  await app.register(resourceMetadataRoutes, { config, live, asEnabled: Boolean(provider) });
  if (provider)
    await app.register(authorizationServerPlugin, {
      provider,
      store,
      onGrantRevoked: (gid) => void grantGone(gid),
      onGrant: async (gid, p) => {
        if (p.sessionId) await grantTokens.keep(gid, p.sub, p.sessionId);
      },
      rememberMs: config.authorizationServer.refreshTokenTtl,
      registration: config.authorizationServer.registration === 'open',
      metrics,
    });
  if (config.devIdp?.enabled) await registerDevIdp(app, config);

  closeOnShutdown(app, { backends, restClients, audit, replicas, logout, store, outbound });
  const reloader = createReloader({ live, next: nextState, asEnabled: Boolean(provider), log: app.log });
  app.addHook('onClose', () => reloader.close());
  const tls = listener
    ? new TlsReloader(config.server.tls!, app.server as unknown as SecureServer, listener.files, app.log)
    : undefined;
  tls?.watch();
  app.addHook('onClose', () => tls?.close());
  return { app, config, backends, client, reload: reloader.reload, tls };
}
