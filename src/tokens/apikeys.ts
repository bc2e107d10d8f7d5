/**
 * API keys (`apiKeys` in the configuration; the first identity source tried): the
 * configuration holds only the sha256 of each key, so a key never leaves the proxy and the
 * config file is not a secret list. A presented key is hashed, found by digest in a Map
 * (O(1), no loop over keys), then confirmed with a constant-time comparison of the digests.
 */
import type { Config } from '../config/load.js';
import { configuredPrincipal, type Principal } from '../identity/principal.js';
import { safeEqualHex, sha256Hex } from '../lib/crypto.js';

/** The value to put in `apiKeys[].sha256` for a key (lowercase hex sha256 of its UTF-8 bytes). */
export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

type Index = Map<string, { digest: string; principal: Principal }>;

function index(keys: Config['apiKeys']): Index {
  const byDigest: Index = new Map();
  for (const k of keys) {
    const digest = k.sha256.toLowerCase();
    if (byDigest.has(digest)) throw new Error(`apiKeys: "${k.name}" has the same sha256 as another key`);
    byDigest.set(digest, { digest, principal: configuredPrincipal(k, 'apikey') });
  }
  return byDigest;
}

export class ApiKeys {
  private readonly byDigest: Index;

  /** Throws on two keys with one hash (a reload then changes nothing). */
  constructor(keys: Config['apiKeys']) {
    this.byDigest = index(keys);
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The principal of a configured key, or undefined (not a key of ours: let another source try). */
  lookup(presented: string): Principal | undefined {
    return presented ? this.lookupDigest(sha256Hex(presented)) : undefined;
  }

  /** As lookup, for a presented key already hashed (`sha256Hex`). */
  lookupDigest(digest: string): Principal | undefined {
    if (this.byDigest.size === 0) return undefined;
    const entry = this.byDigest.get(digest);
    // The Map lookup already matched; the constant-time check keeps the decision itself
    // free of early-exit string comparison, should the lookup structure ever change.
    if (!entry || !safeEqualHex(digest, entry.digest)) return undefined;
    return entry.principal;
  }
}
