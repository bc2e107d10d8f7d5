/**
 * Access tokens are valid only while their grant exists. JWT access tokens are not stored, so
 * they verify until `exp`; the resource server also requires the grant named by their `gid`
 * to be in the store. Revocation, logout and reuse detection delete the grant; a grant lost
 * any other way (a restart of the memory store, data lost in Redis, an eviction) is refused
 * just the same: nothing is remembered as "revoked" that could be forgotten.
 *
 * Each replica remembers the grants it has confirmed and looks them up again after
 * RECHECK_MS, so the hot path is not a store round trip per request and a grant deleted on
 * another replica is refused here within that time (at once when the deleting replica's event
 * arrives, see session/logout-events.ts). While the store cannot be reached, a grant this
 * replica confirmed stays valid and no other is admitted (503).
 */
import { Errors } from '../errors.js';
import { RECHECK_MS, type Store } from '../store/store.js';
import { BoundedMap } from '../store/memory.js';
import { grantKey } from './adapter.js';

export class LiveGrants {
  /** Grant id → when this replica last found it in the store. Positive only. */
  private readonly confirmed = new BoundedMap<string, number>(100_000);

  constructor(private readonly store: Store) {}

  /** True while the grant exists; false for a missing grant or no grant id at all. */
  async live(grantId: string | undefined): Promise<boolean> {
    if (!grantId) return false;
    const now = Date.now();
    const at = this.confirmed.get(grantId);
    if (at !== undefined && now - at < RECHECK_MS) return true;
    let grant: unknown;
    try {
      grant = await this.store.get(grantKey(grantId));
    } catch {
      if (at !== undefined) return true;
      throw new Errors.STORE_UNAVAILABLE();
    }
    if (!grant) {
      this.confirmed.delete(grantId);
      return false;
    }
    this.confirmed.set(grantId, now);
    return true;
  }

  /** The grant was deleted (here or on another replica): stop trusting the confirmation. */
  forget(grantId: string): void {
    this.confirmed.delete(grantId);
  }
}
