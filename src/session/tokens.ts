/**
 * Upstream tokens live in the Store keyed by session id, never in the cookie: Okta tokens
 * alone can exceed a cookie's 4 KB. Refreshed with the refresh token shortly before they
 * expire (one refresh at a time per session); a refused refresh ends the session.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/index.js';
import type { UpstreamClient, UpstreamTokens } from '../oidc/client.js';

const REFRESH_MARGIN_MS = 60_000;

export class SessionTokens {
  private readonly inflight = new Map<string, Promise<UpstreamTokens | null>>();

  constructor(
    private readonly store: Store,
    private readonly client: UpstreamClient | undefined,
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  private key(sid: string): string {
    return `session-tokens:${sid}`;
  }

  save(sid: string, tokens: UpstreamTokens): Promise<void> {
    return this.store.set(this.key(sid), tokens, this.ttlMs);
  }

  get(sid: string): Promise<UpstreamTokens | undefined> {
    return this.store.get<UpstreamTokens>(this.key(sid));
  }

  /**
   * Logout: the cookie is stateless, so a copy of it would still decrypt. Remember the ended
   * session id until the cookie could have expired anyway; `current` then reports it ended.
   */
  async end(sid: string): Promise<void> {
    await this.store.set(`session-ended:${sid}`, true, this.ttlMs);
    await this.drop(sid);
  }

  drop(sid: string): Promise<void> {
    return this.store.delete(this.key(sid));
  }

  /**
   * Current tokens, refreshed when they expire within a minute. Returns null when the session
   * must end (logged out, or the IdP refused the refresh), undefined when no tokens are held.
   */
  async current(sid: string): Promise<UpstreamTokens | null | undefined> {
    const [t, ended] = await Promise.all([this.get(sid), this.store.get<boolean>(`session-ended:${sid}`)]);
    if (ended) return null;
    if (!t?.expiresAt || t.expiresAt - Date.now() > REFRESH_MARGIN_MS || !t.refreshToken || !this.client) return t;
    let p = this.inflight.get(sid);
    if (!p) {
      p = this.refresh(sid, t).finally(() => this.inflight.delete(sid));
      this.inflight.set(sid, p);
    }
    return p;
  }

  private async refresh(sid: string, t: UpstreamTokens): Promise<UpstreamTokens | null> {
    try {
      const fresh = await this.client!.refresh(t.refreshToken!);
      const merged = { ...fresh, idToken: fresh.idToken ?? t.idToken };
      await this.save(sid, merged);
      return merged;
    } catch (e) {
      const err = e as { error?: string; code?: string; message?: string };
      if (err.error === 'invalid_grant') {
        this.log.info({ event: 'session.refresh_refused' }, 'upstream refresh refused: session ended');
        await this.drop(sid);
        return null;
      }
      this.log.warn({ event: 'session.refresh_failed', reason: err.code ?? err.message }, 'upstream token refresh failed; keeping the session');
      return t;
    }
  }
}
