/**
 * Grants that were revoked (refresh token revoked, grant destroyed). JWT access tokens are
 * not stored, so they verify until `exp`: the resource server also refuses any token whose
 * grant id (`gid`) is here. Entries outlive the longest access token, then go.
 */
import { BoundedMap } from '../store/memory.js';

export class RevokedGrants {
  private readonly grants = new BoundedMap<string, number>(100_000);
  constructor(private readonly keepMs: number) {}

  add(grantId: string): void {
    this.grants.set(grantId, Date.now() + this.keepMs);
  }

  has(grantId: string | undefined): boolean {
    if (!grantId) return false;
    const until = this.grants.peek(grantId);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.grants.delete(grantId);
      return false;
    }
    return true;
  }
}
