/**
 * Tokens obtained for backends, kept in memory until a minute before they expire, with one
 * request in flight per key (concurrent callers share it). A token whose lifetime is unknown
 * is not kept. Keys name who and what the token is for; the token itself is never logged.
 */
import { BoundedMap } from '../store/memory.js';
import type { IssuedToken } from './issued.js';

export const EXPIRY_MARGIN_MS = 60_000;

export class TokenCache {
  private readonly held = new BoundedMap<string, IssuedToken & { expiresAt: number }>(50_000);
  private readonly inflight = new Map<string, Promise<IssuedToken>>();

  /** The token for `key`: held (`cached: true`) or obtained by `fetch` (one call per key at a time). */
  async get(key: string, fetch: () => Promise<IssuedToken>): Promise<{ token: IssuedToken; cached: boolean }> {
    const hit = this.held.get(key);
    if (hit && hit.expiresAt - Date.now() > EXPIRY_MARGIN_MS) return { token: hit, cached: true };
    if (hit) this.held.delete(key);
    let p = this.inflight.get(key);
    const shared = p !== undefined;
    if (!p) {
      p = fetch()
        .then((t) => {
          if (t.expiresAt !== undefined && t.expiresAt - Date.now() > EXPIRY_MARGIN_MS)
            this.held.set(key, { ...t, expiresAt: t.expiresAt });
          return t;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return { token: await p, cached: shared };
  }
}
