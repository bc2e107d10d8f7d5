/**
 * The version bridges of one backend over upstream sessions the proxy holds (streamable HTTP,
 * HTTP+SSE): one upstream 2025 session per principal, ended when idle, at the principal's
 * logout, and when the backend closes.
 */
import { principalKey, type Principal } from '../identity/principal.js';
import { VersionBridge } from './bridge.js';
import type { Upstream2025 } from './upstream.js';

/** An upstream session the proxy opened, carrying the headers of the request being served. */
export interface HeldUpstream extends Upstream2025 {
  /** The identity headers, assertion and upstream credential of the latest request (set per request). */
  headers: Record<string, string>;
  /** Ends the session upstream (as a client leaving does). */
  close(): void;
}

export interface HeldBridge {
  up: HeldUpstream;
  bridge: VersionBridge;
}

export interface HeldBridgesOptions {
  /** A new upstream session (not opened yet: `ready()` opens it). */
  create(): HeldUpstream;
  /** How long a suspended request waits for the client's next round trip. */
  resumeTimeoutMs(): number;
  /** A bridge with nothing open and no request for this long ends. */
  idleMs(): number;
}

export class HeldBridges {
  private readonly map = new Map<string, HeldBridge>();
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly o: HeldBridgesOptions) {
    const idle = o.idleMs();
    this.reaper = setInterval(() => this.endIdle(Date.now() - o.idleMs()), Math.max(250, Math.min(30_000, idle / 4)));
    this.reaper.unref();
  }

  get size(): number {
    return this.map.size;
  }

  /** The principal's bridge, its upstream session carrying this request's headers. */
  get(principal: Principal, headers: Record<string, string>): HeldBridge {
    const who = principalKey(principal);
    let entry = this.map.get(who);
    if (!entry) {
      const up = this.o.create();
      const created: HeldBridge = { up, bridge: new VersionBridge(up, { resumeTimeoutMs: this.o.resumeTimeoutMs() }) };
      const onclose = up.onclose;
      up.onclose = () => {
        onclose?.();
        if (this.map.get(who) === created) this.map.delete(who);
      };
      this.map.set(who, created);
      entry = created;
    }
    entry.up.headers = headers;
    return entry;
  }

  private end(who: string): void {
    const entry = this.map.get(who);
    if (!entry) return;
    this.map.delete(who);
    entry.bridge.close();
    entry.up.close();
  }

  /** Ends the sessions idle since `cutoff`. */
  endIdle(cutoff: number): void {
    for (const [who, e] of this.map) if (e.bridge.lastActive < cutoff && !e.bridge.busy) this.end(who);
  }

  /** Logout: the principal of the proxy's own login with this `sub` (not an API key or other source of that name). */
  endUser(sub: string): void {
    this.end(sub);
  }

  /** The backend closes: every session ends. */
  endAll(): void {
    clearInterval(this.reaper);
    for (const who of [...this.map.keys()]) this.end(who);
  }
}
