/**
 * The upstream login behind each grant of the proxy's authorization server. When a user lets an MCP
 * client in (authz-server/interactions.ts), the tokens of the browser login they did it with are kept
 * with the grant: in the store (sealed at rest in Redis and PostgreSQL) under the grant id, for as long
 * as the grant may live. They are that client's subject token for tokenExchange backends.
 * While that browser session lives, its tokens are used and refreshed through it (session/tokens.ts):
 * one refresh chain, so an IdP that rotates refresh tokens never sees two holders of one. Once the
 * session ends, the grant holds the chain alone and refreshes it shortly before expiry; a refused
 * refresh ends it; and logging out of that browser leaves the upstream refresh token alone
 * (heldByGrants: the proxy's logout revokes it at the IdP otherwise). The record goes when the
 * grant is revoked or deleted (build.ts wires the grant events and "log out everywhere" here), and
 * expires with the grant. Tokens are never logged.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { UpstreamClient, UpstreamTokens } from '../oidc/client.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Store } from '../store/store.js';

const REFRESH_MARGIN_MS = 60_000;

export const grantTokensKey = (grantId: string) => `as-upstream-tokens:${grantId}`;
/** The grants whose login came from one browser session. */
const sessionGrantsKey = (sessionId: string) => `as-upstream-session-grants:${sessionId}`;

/** One grant's upstream login (never logged: it holds tokens). */
interface GrantLogin {
  /** The user the grant belongs to. */
  sub: string;
  /** The browser session the tokens came from, while it lives. */
  sessionId?: string;
  tokens: UpstreamTokens;
}

export class GrantTokens {
  private readonly inflight = new Map<string, Promise<UpstreamTokens | null>>();

  constructor(
    private readonly store: Store,
    private readonly sessions: Pick<SessionTokens, 'current'>,
    private readonly client: UpstreamClient | undefined,
    /** How long a grant may live (authorizationServer.refreshTokenTtl). */
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** At consent: the grant keeps the upstream tokens of the browser session `sessionId` (none: nothing kept). */
  async keep(grantId: string, sub: string, sessionId: string): Promise<void> {
    const tokens = await this.sessions.current(sessionId);
    if (!tokens?.accessToken) return;
    await this.save(grantId, { sub, sessionId, tokens });
    const ids = (await this.store.get<string[]>(sessionGrantsKey(sessionId))) ?? [];
    if (!ids.includes(grantId))
      await this.store.set(sessionGrantsKey(sessionId), [...ids, grantId].slice(-50), this.ttlMs);
  }

  /** Whether a grant still holds the login of this browser session (its refresh token must outlive the session). */
  async heldByGrants(sessionId: string): Promise<boolean> {
    for (const gid of (await this.store.get<string[]>(sessionGrantsKey(sessionId))) ?? [])
      if ((await this.store.get<GrantLogin>(grantTokensKey(gid)))?.sessionId === sessionId) return true;
    return false;
  }

  /** The grant was revoked or deleted, or its user logged out everywhere. */
  remove(grantId: string): Promise<void> {
    return this.store.delete(grantTokensKey(grantId));
  }

  /** The grant's upstream tokens, refreshed when they expire within a minute; null: none (or not `sub`'s). */
  async current(grantId: string, sub: string): Promise<UpstreamTokens | null> {
    let rec = await this.store.get<GrantLogin>(grantTokensKey(grantId));
    if (!rec || rec.sub !== sub) return null;
    if (rec.sessionId) {
      const t = await this.sessions.current(rec.sessionId);
      if (t?.accessToken) {
        if (t.accessToken !== rec.tokens.accessToken || t.refreshToken !== rec.tokens.refreshToken)
          await this.save(grantId, { ...rec, tokens: t });
        return t;
      }
      // The browser session ended: from now on the grant holds the refresh chain alone.
      rec = { sub: rec.sub, tokens: rec.tokens };
      await this.save(grantId, rec);
    }
    const t = rec.tokens;
    if (!t.expiresAt || t.expiresAt - Date.now() > REFRESH_MARGIN_MS || !t.refreshToken || !this.client) return t;
    let p = this.inflight.get(grantId);
    if (!p) {
      p = this.refresh(grantId).finally(() => this.inflight.delete(grantId));
      this.inflight.set(grantId, p);
    }
    return p;
  }

  private async save(grantId: string, rec: GrantLogin): Promise<void> {
    await this.store.set(grantTokensKey(grantId), rec, this.ttlMs);
  }

  /** Refresh from the stored record (another replica may have rotated the refresh token already). */
  private async refresh(grantId: string): Promise<UpstreamTokens | null> {
    const rec = await this.store.get<GrantLogin>(grantTokensKey(grantId));
    const t = rec?.tokens;
    if (!rec || !t) return null;
    if (rec.sessionId || !t.expiresAt || t.expiresAt - Date.now() > REFRESH_MARGIN_MS || !t.refreshToken) return t;
    try {
      const fresh = await this.client!.refresh(t.refreshToken);
      const tokens = { ...fresh, idToken: fresh.idToken ?? t.idToken };
      await this.save(grantId, { sub: rec.sub, tokens });
      return tokens;
    } catch (e) {
      const err = e as { error?: string; code?: string; message?: string };
      if (err.error === 'invalid_grant') {
        this.log.info(
          { event: 'upstream.grant_login_ended', grantId },
          "the IdP refused to refresh an MCP client's upstream login: it is forgotten",
        );
        await this.remove(grantId);
        return null;
      }
      this.log.warn(
        { event: 'upstream.grant_refresh_failed', grantId, reason: err.code ?? err.message },
        "refreshing an MCP client's upstream login failed; keeping it",
      );
      return t;
    }
  }
}
