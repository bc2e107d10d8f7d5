/**
 * The token an `upstream: {kind: oauth}` backend receives: the user's connection, refreshed a
 * minute before it expires (one refresh in flight per user and backend). No connection, or a
 * refresh the authorization server refuses (invalid_grant: the connection is removed), is
 * UPSTREAM_CONNECTION_REQUIRED with a connect link bound to the user; a server that cannot be
 * reached is UPSTREAM_TOKEN_FAILED, logged with its error and error_description, never a token.
 * `disconnect` forgets a connection and revokes it upstream (RFC 7009) when offered.
 */
import type { FastifyBaseLogger } from 'fastify';
import * as oidc from 'openid-client';
import type { BackendConfig } from '../config/schema.js';
import { connectionRequired, Errors, withReason } from '../errors.js';
import { principalKey, type Principal } from '../identity/principal.js';
import { EXPIRY_MARGIN_MS } from './cache.js';
import type { ConnectRecords } from './connect-records.js';
import type { Connection, Connections } from './connections.js';
import { endpointError } from './endpoint.js';
import type { OAuthClient, OAuthClients } from './oauth-client.js';
import type { AuthServerDiscovery } from './oauth-discovery.js';

export type OAuthResult = 'cached' | 'refreshed' | 'connect_required' | 'failed';

export interface OAuthTokenDeps {
  connections: Connections;
  clients: OAuthClients;
  discovery: AuthServerDiscovery;
  records: ConnectRecords;
  publicUrl: string;
  log: FastifyBaseLogger;
  count?: (backend: string, result: OAuthResult) => void;
}

/** A token response as a Connection (scopes: granted, else requested). */
export function connectionOf(
  t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  base: Pick<Connection, 'issuer' | 'clientId' | 'scopes' | 'refreshToken' | 'connectedAt'>,
): Connection {
  const expiresIn = t.expiresIn();
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token ?? base.refreshToken,
    expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000,
    scopes: typeof t.scope === 'string' ? t.scope.split(' ').filter(Boolean) : base.scopes,
    issuer: base.issuer,
    clientId: base.clientId,
    connectedAt: base.connectedAt,
  };
}

export class OAuthTokens {
  private readonly refreshing = new Map<string, Promise<Connection | undefined>>();

  constructor(private readonly deps: OAuthTokenDeps) {}

  /** The access token `principal`'s connection to `backend` holds (refreshed when due). */
  async tokenFor(backend: BackendConfig, principal: Principal): Promise<{ token: string; expiresAt?: number }> {
    // An API key or a client certificate is nobody's browser: it can never connect an account.
    if (principal.source === 'apikey' || principal.source === 'clientCertificate')
      throw new Errors.UPSTREAM_TOKEN_UNAVAILABLE(
        backend.name,
        `${principal.source === 'apikey' ? 'an API key' : 'a client certificate'} belongs to no browser, ` +
          'so it cannot connect an account there',
      );
    const user = principalKey(principal);
    let c = await this.deps.connections.get(user, backend.name);
    let refreshed = false;
    if (c?.expiresAt !== undefined && c.expiresAt - Date.now() <= EXPIRY_MARGIN_MS) {
      c = await this.refreshOnce(backend, user, c);
      refreshed = c !== undefined;
    }
    if (!c) {
      this.deps.count?.(backend.name, 'connect_required');
      const id = await this.deps.records.elicit(user, backend.name);
      const url = `${this.deps.publicUrl}/connect/${encodeURIComponent(backend.name)}?elicitation=${id}`;
      throw connectionRequired(backend.name, url, id);
    }
    this.deps.count?.(backend.name, refreshed ? 'refreshed' : 'cached');
    return { token: c.accessToken, expiresAt: c.expiresAt };
  }

  /** Forgets the user's connection to `backend` and revokes its tokens upstream; false when there was none. */
  async disconnect(backend: BackendConfig, user: string): Promise<boolean> {
    const c = await this.forget(backend, user);
    if (c) await this.revoke(backend, c);
    return c !== undefined;
  }

  /**
   * Log out everywhere, back-channel logout: every connection of the user is gone when this
   * resolves; revoking them upstream follows without holding the logout up (a slow or down
   * authorization server must not keep a user logged in).
   */
  async forgetAll(backends: readonly BackendConfig[], user: string): Promise<void> {
    const held = await Promise.all(backends.map(async (b) => [b, await this.forget(b, user)] as const));
    for (const [b, c] of held) if (c) void this.revoke(b, c);
  }

  private async forget(backend: BackendConfig, user: string): Promise<Connection | undefined> {
    const c = await this.deps.connections.get(user, backend.name);
    if (c) await this.deps.connections.remove(user, backend.name);
    return c;
  }

  /** RFC 7009 at the backend's authorization server when offered: refresh token, then access token. Never throws. */
  private async revoke(backend: BackendConfig, c: Connection): Promise<void> {
    let cfg: oidc.Configuration;
    try {
      cfg = (await this.deps.clients.clientFor(backend)).cfg;
    } catch (e) {
      return this.revocationFailed(backend.name, e);
    }
    if (!cfg.serverMetadata().revocation_endpoint) return;
    const held = [
      ['refresh_token', c.refreshToken],
      ['access_token', c.accessToken],
    ] as const;
    for (const [hint, token] of held) {
      if (!token) continue;
      try {
        await oidc.tokenRevocation(cfg, token, { token_type_hint: hint });
      } catch (e) {
        // RFC 7009 §2.2.1: a server may not revoke some tokens (self-contained JWTs live until they expire).
        if (endpointError(e).error === 'unsupported_token_type') continue;
        this.revocationFailed(backend.name, e);
      }
    }
  }

  /** The connection cannot be refreshed: removed, the user must connect again. */
  private async dropped(
    backend: string,
    user: string,
    why: string,
    error?: string,
    error_description?: string,
  ): Promise<undefined> {
    await this.deps.connections.remove(user, backend);
    this.deps.log.info(
      { event: 'upstream.connection_refused', backend, error, error_description, why },
      `${why} for backend "${backend}": the user must connect again`,
    );
    return undefined;
  }

  private revocationFailed(backend: string, e: unknown): void {
    const { error, error_description, reason } = endpointError(e);
    this.deps.log.warn(
      { event: 'upstream.revocation_failed', backend, error, error_description, reason },
      `could not revoke the connection to backend "${backend}" upstream (it is forgotten here)`,
    );
  }

  private refreshOnce(backend: BackendConfig, user: string, c: Connection): Promise<Connection | undefined> {
    const key = `${user}\0${backend.name}`;
    let p = this.refreshing.get(key);
    if (!p) {
      p = this.refresh(backend, user, c).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, p);
    }
    return p;
  }

  private async refresh(backend: BackendConfig, user: string, c: Connection): Promise<Connection | undefined> {
    const { connections, log } = this.deps;
    if (!c.refreshToken) {
      await connections.remove(user, backend.name);
      return undefined;
    }
    let client: OAuthClient | undefined;
    try {
      client = await this.deps.clients.clientFor(backend);
      const { cfg, server } = client;
      // Connected with another client (re-registered, reconfigured): its refresh token is not ours to use.
      if (server.issuer !== c.issuer || cfg.clientMetadata().client_id !== c.clientId)
        return await this.dropped(backend.name, user, 'the client changed since the user connected');
      const params: Record<string, string> = server.resource ? { resource: server.resource } : {};
      const t = await oidc.refreshTokenGrant(cfg, c.refreshToken, params);
      const next = connectionOf(t, c);
      await connections.save(user, backend.name, next);
      return next;
    } catch (e) {
      const { error, error_description, reason } = endpointError(e);
      if (error === 'invalid_grant') {
        // Another replica may have refreshed (and rotated) it first: its result stands.
        const now = await connections.get(user, backend.name);
        if (now && now.refreshToken !== c.refreshToken) return now;
        return this.dropped(
          backend.name,
          user,
          'the authorization server refused the refresh',
          error,
          error_description,
        );
      }
      if (error === 'invalid_client' && client?.how === 'dcr') {
        // The server forgot the registration: register again, and the user connects again.
        await this.deps.clients.forgetRegistration(client.server);
        return this.dropped(backend.name, user, 'the authorization server no longer knows the client', error);
      }
      this.deps.count?.(backend.name, 'failed');
      this.deps.discovery.forget(backend.name);
      log.warn(
        { event: 'upstream.token_failed', backend: backend.name, kind: 'oauth', error, error_description, reason },
        `could not refresh the oauth token for backend "${backend.name}"`,
      );
      throw withReason(new Errors.UPSTREAM_TOKEN_FAILED(backend.name), reason);
    }
  }
}
