/**
 * Grants that were revoked (refresh token revoked, grant destroyed, logout). JWT access
 * tokens are not stored, so they verify until `exp`: the resource server also refuses any
 * token whose grant id (`gid`) is revoked. Entries outlive the longest access token, then go.
 *
 * Kept in the Store so every replica sees a revocation: the replica that revoked knows at
 * once; the others look a grant up at most every RECHECK_MS (so within 5 s). When the store
 * cannot be reached the check answers from what this replica knows (a valid JWT keeps working
 * while the store is down; see README "Running several replicas").
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.js';
import { BoundedMap } from '../store/memory.js';

const RECHECK_MS = 5000;

export class RevokedGrants {
  private readonly revoked = new BoundedMap<string, number>(100_000);
  private readonly checkedAt = new BoundedMap<string, number>(100_000);

  constructor(private readonly keepMs: number, private readonly store?: Store, private readonly log?: FastifyBaseLogger) {}

  async add(grantId: string): Promise<void> {
    this.revoked.set(grantId, Date.now() + this.keepMs);
    await this.store?.set(`revoked:${grantId}`, true, this.keepMs).catch((e: Error) => this.log?.error({ event: 'store.unavailable', reason: e.message }, 'grant revocation not shared with other replicas'));
  }

  async has(grantId: string | undefined): Promise<boolean> {
    if (!grantId) return false;
    const now = Date.now();
    const until = this.revoked.peek(grantId);
    if (until !== undefined) {
      if (until >= now) return true;
      this.revoked.delete(grantId);
    }
    if (!this.store) return false;
    const at = this.checkedAt.peek(grantId);
    if (at !== undefined && now - at < RECHECK_MS) return false;
    this.checkedAt.set(grantId, now);
    try {
      if (!(await this.store.get(`revoked:${grantId}`))) return false;
    } catch {
      return false;
    }
    this.revoked.set(grantId, now + this.keepMs);
    return true;
  }
}
