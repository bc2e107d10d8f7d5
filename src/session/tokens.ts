/**
 * The server-side record of a browser session: its upstream tokens, in the Store keyed by
 * session id, never in the cookie (Okta tokens alone can exceed a cookie's 4 KB). The record
 * is what makes a cookie a session: written at login, deleted at logout, and a cookie whose
 * record is gone (logged out, expired, lost in a restart or an eviction) is refused. Each
 * replica remembers the records it has confirmed, rechecked every RECHECK_MS (positive cache
 * only); while the store cannot be reached, a session this replica confirmed stays valid and
 * no other is admitted. Tokens are refreshed shortly before they expire (one refresh at a time
 * per session); a refused refresh ends the session.
 */
import type { FastifyBaseLogger } from 'fastify';
import { RECHECK_MS, type Store } from '../store/store.js';
import { BoundedMap } from '../store/memory.js';
import type { UpstreamClient, UpstreamTokens } from '../oidc/client.js';
import { errorCause } from '../lib/error-cause.js';

const REFRESH_MARGIN_MS = 60_000;

/** Where a browser session's record lives in the store. */
export const sessionRecordKey = (sid: string) => `session-tokens:${sid}`;

export class SessionTokens {
  private readonly inflight = new Map<string, Promise<UpstreamTokens | null>>();
  /** Records this replica confirmed: when, and what they held. Forgetting one only costs a lookup. */
  private readonly confirmed = new BoundedMap<string, { at: number; tokens: UpstreamTokens }>(100_000);

  constructor(
    private readonly store: Store,
    private readonly client: UpstreamClient | undefined,
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  private key(sid: string): string {
    return sessionRecordKey(sid);
  }

  async save(sid: string, tokens: UpstreamTokens): Promise<void> {
    await this.store.set(this.key(sid), tokens, this.ttlMs);
    this.confirmed.set(sid, { at: Date.now(), tokens });
  }

  get(sid: string): Promise<UpstreamTokens | undefined> {
    return this.store.get<UpstreamTokens>(this.key(sid));
  }

  /** Logout: the record goes, so the cookie (and any copy of it) is refused from now on. */
  async end(sid: string): Promise<void> {
    this.confirmed.delete(sid);
    await this.store.delete(this.key(sid));
  }

  /** Another replica ended this session: stop trusting what this one confirmed. */
  forget(sid: string): void {
    this.confirmed.delete(sid);
  }

  /**
   * The session's tokens, refreshed when they expire within a minute; null when the session
   * must end (no record, or the IdP refused the refresh). Throws when the store cannot be
   * reached and this replica never confirmed the session.
   */
  async current(sid: string): Promise<UpstreamTokens | null> {
    const now = Date.now();
    let hit = this.confirmed.get(sid);
    if (!hit || now - hit.at >= RECHECK_MS) {
      let t: UpstreamTokens | undefined;
      try {
        t = await this.get(sid);
      } catch (e) {
        if (hit) return hit.tokens;
        throw e;
      }
      if (!t) {
        this.confirmed.delete(sid);
        return null;
      }
      this.confirmed.set(sid, (hit = { at: now, tokens: t }));
    }
    const t = hit.tokens;
    if (!t.expiresAt || t.expiresAt - now > REFRESH_MARGIN_MS || !t.refreshToken || !this.client) return t;
    let p = this.inflight.get(sid);
    if (!p) {
      p = this.refresh(sid).finally(() => this.inflight.delete(sid));
      this.inflight.set(sid, p);
    }
    return p;
  }

  /** Refresh from the stored record (another replica may have rotated the refresh token already). */
  private async refresh(sid: string): Promise<UpstreamTokens | null> {
    const t = await this.get(sid);
    if (!t) {
      this.confirmed.delete(sid);
      return null;
    }
    if (!t.expiresAt || t.expiresAt - Date.now() > REFRESH_MARGIN_MS || !t.refreshToken) {
      this.confirmed.set(sid, { at: Date.now(), tokens: t });
      return t;
    }
    try {
      const fresh = await this.client!.refresh(t.refreshToken);
      const merged = { ...fresh, idToken: fresh.idToken ?? t.idToken };
      await this.save(sid, merged);
      return merged;
    } catch (e) {
      const err = e as { error?: string; code?: string; message?: string };
      if (err.error === 'invalid_grant') {
        this.log.info({ event: 'session.refresh_refused' }, 'upstream refresh refused: session ended');
        await this.end(sid);
        return null;
      }
      this.log.warn(
        { event: 'session.refresh_failed', reason: errorCause(e) },
        'upstream token refresh failed; keeping the session',
      );
      return t;
    }
  }
}
