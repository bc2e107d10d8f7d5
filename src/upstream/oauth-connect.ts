/**
 * The browser connect flow of an `upstream: {kind: oauth}` backend, for one user: `start` keeps
 * a connect state (PKCE verifier, user, returnTo) and gives the authorization URL (PKCE S256,
 * state, scope, resource); `finish` consumes that state once, checks it is this user's, and
 * exchanges the code (authorization code grant with PKCE and resource) for the Connection.
 */
import type { FastifyBaseLogger } from 'fastify';
import * as oidc from 'openid-client';
import type { BackendConfig } from '../config/schema.js';
import { Errors, withReason } from '../errors.js';
import { safeEqual } from '../lib/crypto.js';
import type { ConnectRecords } from './connect-records.js';
import type { Connections } from './connections.js';
import { endpointError } from './endpoint.js';
import type { OAuthClient, OAuthClients } from './oauth-client.js';
import { connectionOf } from './oauth-tokens.js';

export interface ConnectFlowDeps {
  clients: OAuthClients;
  records: ConnectRecords;
  connections: Connections;
  log: FastifyBaseLogger;
}

/** The callback's query (state and code, or the authorization server's error). */
export type CallbackQuery = Record<string, string | undefined>;

export class ConnectFlow {
  constructor(private readonly deps: ConnectFlowDeps) {}

  /** The URL of `backend`'s authorization server to send `user`'s browser to. */
  async start(backend: BackendConfig, user: string, returnTo: string): Promise<string> {
    const { cfg, server } = await this.client(backend);
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const scopes = backend.upstream?.kind === 'oauth' ? backend.upstream.scopes : [];
    const state = await this.deps.records.begin({
      user,
      backend: backend.name,
      codeVerifier,
      returnTo,
      issuer: server.issuer,
      clientId: cfg.clientMetadata().client_id,
      scopes,
    });
    const params: Record<string, string> = {
      redirect_uri: this.deps.clients.redirectUri,
      response_type: 'code',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    if (scopes.length) params.scope = scopes.join(' ');
    if (server.resource) params.resource = server.resource;
    if (backend.upstream?.kind === 'oauth' && backend.upstream.audience) params.audience = backend.upstream.audience;
    return oidc.buildAuthorizationUrl(cfg, params).href;
  }

  /**
   * Ends the flow for `user` (the browser's current user); returns where to send the browser.
   * A state that is unknown, already used or another user's saves nothing.
   */
  async finish(
    query: CallbackQuery,
    user: string,
    backendNamed: (name: string) => BackendConfig,
  ): Promise<{ backend: string; returnTo: string }> {
    if (!query.state) throw new Errors.BAD_REQUEST('the authorization server sent no state');
    const s = await this.deps.records.consume(query.state);
    if (!s) throw new Errors.BAD_REQUEST('this connect request expired or was already completed: connect again');
    if (!safeEqual(s.user, user)) throw new Errors.FORBIDDEN('this connect request was started by another user');
    if (query.error) {
      const said = [query.error, query.error_description].filter(Boolean).join(': ').slice(0, 300);
      this.deps.log.info(
        { event: 'upstream.connect_refused', backend: s.backend, error: query.error },
        `the authorization server of backend "${s.backend}" refused to connect`,
      );
      throw new Errors.UPSTREAM_CONNECT_FAILED(s.backend, `its authorization server answered "${said}"`);
    }
    const backend = backendNamed(s.backend);
    const { cfg, server, how } = await this.client(backend);
    if (server.issuer !== s.issuer || cfg.clientMetadata().client_id !== s.clientId)
      throw new Errors.UPSTREAM_CONNECT_FAILED(s.backend, 'its configuration changed meanwhile: connect again');
    const callback = new URL(this.deps.clients.redirectUri);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) callback.searchParams.set(k, v);
    let t: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      t = await oidc.authorizationCodeGrant(
        cfg,
        callback,
        { pkceCodeVerifier: s.codeVerifier, expectedState: query.state },
        server.resource ? { resource: server.resource } : undefined,
      );
    } catch (e) {
      const { error, error_description, reason } = endpointError(e);
      this.deps.log.warn(
        { event: 'upstream.connect_failed', backend: s.backend, error, error_description, reason },
        `could not exchange the code of backend "${s.backend}"`,
      );
      if (error === 'invalid_client' && how === 'dcr') await this.deps.clients.forgetRegistration(server);
      throw unavailable(
        new Errors.UPSTREAM_CONNECT_FAILED(s.backend, 'its authorization server gave no token'),
        reason,
      );
    }
    const connection = connectionOf(t, {
      issuer: s.issuer,
      clientId: s.clientId,
      scopes: s.scopes,
      connectedAt: Date.now(),
    });
    await this.deps.connections.save(user, s.backend, connection);
    this.deps.log.info({ event: 'upstream.connected', backend: s.backend, sub: user }, 'backend connected');
    return { backend: s.backend, returnTo: s.returnTo };
  }

  /** The client at the backend's authorization server; an unreachable server is UPSTREAM_CONNECT_FAILED. */
  private async client(backend: BackendConfig): Promise<OAuthClient> {
    try {
      return await this.deps.clients.clientFor(backend);
    } catch (e) {
      const { error, error_description, reason } = endpointError(e);
      this.deps.log.warn(
        {
          event: 'upstream.connect_failed',
          backend: backend.name,
          error,
          error_description,
          reason,
          detail: String(e),
        },
        `could not reach the authorization server of backend "${backend.name}"`,
      );
      throw unavailable(new Errors.UPSTREAM_CONNECT_FAILED(backend.name, 'its authorization server failed'), reason);
    }
  }
}

/** The backend's authorization server failed (not the user's doing): 502. */
const unavailable = (e: Error, reason: string) => withReason(Object.assign(e, { statusCode: 502 }), reason);
