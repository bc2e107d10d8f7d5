/**
 * The upstream login behind each grant of the proxy's authorization server. When a user lets an MCP
 * client in (authz-server/interactions.ts), the grant is tied to the browser login they did it with,
 * and that login's tokens are kept in the store (sealed at rest in Redis and PostgreSQL): the grant
 * under its id, the login under its browser session id, with the grants that use it. They are those
 * clients' subject token for tokenExchange backends.
 * One refresh chain per login, so an IdP that rotates refresh tokens never sees two holders of one:
 * while the browser session lives, its tokens are used and refreshed through it (session/tokens.ts);
 * once it ends, the login's grants share the chain, refreshed here shortly before expiry (one refresh
 * at a time); a refused refresh forgets the login. Logging out of that browser leaves the upstream
 * refresh token alone while a grant holds it (heldByGrants; the proxy's logout revokes it otherwise).
 * A grant's record goes when it is revoked or deleted (build.ts wires the grant events and "log out
 * everywhere" here); the login goes with its last grant, its refresh token then revoked at the IdP
 * unless the browser session still has it. Records expire with the grants. Tokens are never logged.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { UpstreamClient, UpstreamTokens } from '../oidc/client.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Store } from '../store/store.js';

const REFRESH_MARGIN_MS = 60_000;

export const grantTokensKey = (grantId: string) => `as-upstream-grant:${grantId}`;
export const loginTokensKey = (sessionId: string) => `as-upstream-login:${sessionId}`;

/** A grant: whose, and which login (the browser session id it was given in). */
interface GrantRef {
  sub: string;
  login: string;
}

/** A login's tokens, and the grants that use them (never logged: it holds tokens). */
interface Login {
  sub: string;
  tokens: UpstreamTokens;
  grants: string[];
  /** The browser session ended: the chain is the grants' alone. */
  alone?: boolean;
}

export class GrantTokens {
  private readonly inflight = new Map<string, Promise<UpstreamTokens | null>>();

  constructor(
    private readonly store: Store,
    private readonly sessions: Pick<SessionTokens, 'current' | 'get'>,
    private readonly client: UpstreamClient | undefined,
    /** How long a grant may live (authorizationServer.refreshTokenTtl). */
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** At consent: the grant is tied to the login of browser session `sessionId` (no upstream token: nothing kept). */
  async keep(grantId: string, sub: string, sessionId: string): Promise<void> {
    const tokens = await this.sessions.current(sessionId);
    if (!tokens?.accessToken) return;
    const login = await this.store.get<Login>(loginTokensKey(sessionId));
    const grants = [...new Set([...(login?.sub === sub ? login.grants : []), grantId])].slice(-50);
    await this.store.set(loginTokensKey(sessionId), { sub, tokens, grants }, this.ttlMs);
    await this.store.set(grantTokensKey(grantId), { sub, login: sessionId } satisfies GrantRef, this.ttlMs);
  }

  /** Whether a grant still holds the login of this browser session (its refresh token must outlive the session). */
  async heldByGrants(sessionId: string): Promise<boolean> {
    for (const gid of (await this.store.get<Login>(loginTokensKey(sessionId)))?.grants ?? [])
      if ((await this.store.get<GrantRef>(grantTokensKey(gid)))?.login === sessionId) return true;
    return false;
  }

  /** The grant was revoked or deleted, or its user logged out everywhere. Its own record goes last. */
  async remove(grantId: string): Promise<void> {
    const ref = await this.store.get<GrantRef>(grantTokensKey(grantId));
    const login = ref && (await this.store.get<Login>(loginTokensKey(ref.login)));
    if (ref && login) {
      const grants = login.grants.filter((g) => g !== grantId);
      if (grants.length) await this.store.set(loginTokensKey(ref.login), { ...login, grants }, this.ttlMs);
      else await this.forgetLogin(ref.login, login);
    }
    await this.store.delete(grantTokensKey(grantId));
  }

  /** No grant holds the login any more: it goes, and its refresh token at the IdP unless the session still has it. */
  private async forgetLogin(loginId: string, login: Login): Promise<void> {
    await this.store.delete(loginTokensKey(loginId));
    const rt = login.tokens.refreshToken;
    if (rt && this.client && !(await this.sessions.get(loginId).catch(() => undefined)))
      await this.client.revoke(rt).catch(() => undefined);
  }

  /** The grant's upstream tokens, refreshed when they expire within a minute; null: none (or not `sub`'s). */
  async current(grantId: string, sub: string): Promise<UpstreamTokens | null> {
    const ref = await this.store.get<GrantRef>(grantTokensKey(grantId));
    let login = ref?.sub === sub ? await this.store.get<Login>(loginTokensKey(ref.login)) : undefined;
    if (!ref || !login || login.sub !== sub) return null;
    if (!login.alone) {
      const t = await this.sessions.current(ref.login);
      if (t?.accessToken) {
        if (t.accessToken !== login.tokens.accessToken || t.refreshToken !== login.tokens.refreshToken)
          await this.save(ref.login, { ...login, tokens: t });
        return t;
      }
      login = { ...login, alone: true };
      await this.save(ref.login, login);
    }
    const t = login.tokens;
    if (!t.expiresAt || t.expiresAt - Date.now() > REFRESH_MARGIN_MS || !t.refreshToken || !this.client) return t;
    let p = this.inflight.get(ref.login);
    if (!p) {
      p = this.refresh(ref.login).finally(() => this.inflight.delete(ref.login));
      this.inflight.set(ref.login, p);
    }
    return p;
  }

  private async save(loginId: string, login: Login): Promise<void> {
    await this.store.set(loginTokensKey(loginId), login, this.ttlMs);
  }

  /** Refresh from the stored record (another replica may have rotated the refresh token already). */
  private async refresh(loginId: string): Promise<UpstreamTokens | null> {
    const login = await this.store.get<Login>(loginTokensKey(loginId));
    const t = login?.tokens;
    if (!login || !t) return null;
    if (!t.expiresAt || t.expiresAt - Date.now() > REFRESH_MARGIN_MS || !t.refreshToken) return t;
    try {
      const fresh = await this.client!.refresh(t.refreshToken);
      const tokens = { ...fresh, idToken: fresh.idToken ?? t.idToken };
      await this.save(loginId, { ...login, tokens });
      return tokens;
    } catch (e) {
      const err = e as { error?: string; code?: string; message?: string };
      if (err.error === 'invalid_grant') {
        this.log.info(
          { event: 'upstream.grant_login_ended', grants: login.grants.length },
          "the IdP refused to refresh MCP clients' upstream login: it is forgotten",
        );
        await this.store.delete(loginTokensKey(loginId));
        return null;
      }
      this.log.warn(
        { event: 'upstream.grant_refresh_failed', reason: err.code ?? err.message },
        "refreshing MCP clients' upstream login failed; keeping it",
      );
      return t;
    }
  }
}
