/**
 * Logout that reaches what is live, not just the cookie:
 * - one browser session: its server-side record deleted (a copied cookie is refused), the MCP
 *   sessions the REST API held for it closed, GET streams opened with it cut;
 * - a user everywhere ("log out everywhere", OIDC back-channel logout): every browser session
 *   of theirs ended, every grant the authorization server gave their MCP clients deleted
 *   (refresh tokens dead, JWT access tokens refused at once), their streams cut, their
 *   stdio sessions and processes ended and their connections to `upstream: oauth` backends forgotten.
 * On every replica: each step is announced (logout-events.ts) and the others do their part.
 * Browser sessions are indexed by user and by the IdP's session id (`sid`) at login.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.js';
import type { LogoutEvents } from './logout-events.js';
import type { SessionTokens } from './tokens.js';

export interface LogoutDeps {
  store: Store;
  tokens: SessionTokens;
  ttlMs: number;
  log: FastifyBaseLogger;
  events: LogoutEvents;
  /** Close what the REST API held for a browser session. */
  closeRestSessions(sessionId: string): Promise<void>;
  /** Cut GET streams (of a user, of one browser session, of one grant). */
  closeStreams(which: { sub?: string; sessionId?: string; grantId?: string }): number;
  /** End a user's stdio sessions and processes. */
  endBackendSessions(sub: string): Promise<void>;
  /**
   * Delete the AS grants of a user, calling `grantRevoked` for
   * each; how many there were (undefined: no authorization server).
   */
  revokeGrants?(sub: string): Promise<number>;
  /** Stop trusting a grant this replica confirmed. */
  forgetGrant(grantId: string): void;
  /** Forget the user's connections to `upstream: oauth` backends (shared store: once, not per replica). */
  removeConnections?(sub: string): Promise<void>;
}

const userKey = (sub: string) => `user-sessions:${sub}`;
/** What the admin console lists of a browser session (admin/sessions.ts); it expires with the session. */
export interface SessionInfo {
  sub: string;
  /** ms since epoch. */
  createdAt: number;
  expiresAt: number;
  userAgent?: string;
}
export const sessionInfoKey = (sessionId: string) => `session-info:${sessionId}`;
const idpKey = (issuer: string, sid: string) => `idp-session:${issuer}:${sid}`;

export class Logout {
  constructor(private readonly d: LogoutDeps) {
    d.events.listen({
      session: (sid) => this.endSessionHere(sid),
      user: async (sub) => {
        d.closeStreams({ sub });
        await d.endBackendSessions(sub);
      },
      grant: async (gid) => {
        d.forgetGrant(gid);
        d.closeStreams({ grantId: gid });
      },
    });
  }

  /** At login: remember this browser session under its user and the IdP's session id. */
  async remember(
    sub: string,
    sessionId: string,
    idp?: { issuer: string; sid?: string },
    userAgent?: string,
  ): Promise<void> {
    const list = ((await this.d.store.get<string[]>(userKey(sub))) ?? []).slice(-49);
    await this.d.store.set(userKey(sub), [...list, sessionId], this.d.ttlMs);
    const now = Date.now();
    const info: SessionInfo = {
      sub,
      createdAt: now,
      expiresAt: now + this.d.ttlMs,
      userAgent: userAgent?.slice(0, 200),
    };
    await this.d.store.set(sessionInfoKey(sessionId), info, this.d.ttlMs);
    if (idp?.sid) await this.d.store.set(idpKey(idp.issuer, idp.sid), { sub, sessionId }, this.d.ttlMs);
  }

  /** The browser sessions a user logged in (ids, oldest first; some may have ended since). */
  async sessionsOf(sub: string): Promise<string[]> {
    return (await this.d.store.get<string[]>(userKey(sub))) ?? [];
  }

  /** The browser sessions the IdP's session `sid` logged in. */
  async byIdpSession(issuer: string, sid: string): Promise<{ sub: string; sessionId: string } | undefined> {
    return this.d.store.get(idpKey(issuer, sid));
  }

  async endSession(sessionId: string): Promise<void> {
    // The REST API's MCP sessions close first: they close with the session's own credential.
    await this.d.closeRestSessions(sessionId).catch(() => undefined);
    await this.d.tokens.end(sessionId);
    await this.d.store.delete(sessionInfoKey(sessionId));
    await this.endSessionHere(sessionId);
    await this.d.events.publish({ session: sessionId });
  }

  /** What this replica holds for a browser session that ended (here or elsewhere). */
  private async endSessionHere(sessionId: string): Promise<void> {
    await this.d.closeRestSessions(sessionId).catch(() => undefined);
    this.d.tokens.forget(sessionId);
    this.d.closeStreams({ sessionId });
  }

  /**
   * A grant was deleted here (revocation, reuse detection,
   * logout): every replica stops trusting it and cuts its streams.
   */
  async grantRevoked(grantId: string): Promise<void> {
    this.d.forgetGrant(grantId);
    this.d.closeStreams({ grantId });
    await this.d.events.publish({ grant: grantId });
  }

  async endUser(sub: string, why: string): Promise<void> {
    const sessions = (await this.d.store.get<string[]>(userKey(sub))) ?? [];
    for (const sid of sessions) await this.endSession(sid);
    await this.d.store.delete(userKey(sub));
    const grants = (await this.d.revokeGrants?.(sub)) ?? 0;
    await this.d.removeConnections?.(sub);
    const streams = this.d.closeStreams({ sub });
    await this.d.endBackendSessions(sub);
    await this.d.events.publish({ user: sub });
    this.d.log.info(
      { event: 'logout.everywhere', sub, why, browserSessions: sessions.length, grants, streams },
      'user logged out everywhere',
    );
  }

  close(): Promise<void> {
    return this.d.events.close();
  }
}
