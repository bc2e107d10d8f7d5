/**
 * The version bridges of one backend, whatever its transport: one upstream 2025 session per
 * principal, opened on first use and ended when idle, at logout or when the backend closes.
 */
import { principalKey, type Principal } from '../identity/principal.js';
import { VersionBridge } from './bridge.js';
import type { Upstream2025 } from './upstream.js';

export interface BridgeEntry<U extends Upstream2025> {
  up: U;
  bridge: VersionBridge;
}

export interface PrincipalBridgesOptions<U extends Upstream2025> {
  /** How long a suspended request waits for the client's next round trip. */
  resumeTimeoutMs(): number;
  /** Ends an upstream session (its bridge has already answered what was open). */
  endUpstream(up: U): void | Promise<void>;
  /** A held upstream that can serve no more (its process exited): replaced on next use. */
  stale?(up: U): boolean;
}

export class PrincipalBridges<U extends Upstream2025> {
  private readonly map = new Map<string, BridgeEntry<U>>();

  constructor(private readonly opts: PrincipalBridgesOptions<U>) {}

  get size(): number {
    return this.map.size;
  }

  /** The principal's bridge and upstream session; `open` makes the upstream on first use. */
  entry(principal: Principal, open: () => U): BridgeEntry<U> {
    const who = principalKey(principal);
    const found = this.map.get(who);
    if (found && !this.opts.stale?.(found.up)) return found;
    const up = open();
    const entry = { up, bridge: new VersionBridge(up, { resumeTimeoutMs: this.opts.resumeTimeoutMs() }) };
    const onclose = up.onclose; // the bridge's
    up.onclose = () => {
      onclose?.();
      if (this.map.get(who) === entry) this.map.delete(who);
    };
    this.map.set(who, entry);
    return entry;
  }

  /** Ends a principal's upstream session (`who`: principalKey), its open requests answered. */
  async end(who: string): Promise<void> {
    const entry = this.map.get(who);
    if (!entry) return;
    this.map.delete(who);
    entry.bridge.close();
    await this.opts.endUpstream(entry.up);
  }

  /** Ends the sessions idle since `cutoff` (all idle ones when undefined). */
  endIdle(cutoff = Number.POSITIVE_INFINITY): void {
    for (const [who, e] of this.map) if (e.bridge.lastActive < cutoff && !e.bridge.busy) void this.end(who);
  }

  /** Logout: `sub` is the principal's key (principalKey), as for every session a backend holds. */
  endUser(sub: string): Promise<void> {
    return this.end(sub);
  }

  async endAll(): Promise<void> {
    await Promise.all([...this.map.keys()].map((who) => this.end(who)));
  }
}
