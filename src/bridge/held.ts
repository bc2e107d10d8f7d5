/**
 * The version bridges of one backend over upstream sessions the proxy holds (streamable HTTP,
 * HTTP+SSE): PrincipalBridges with a reaper for idle sessions and the latest request's headers.
 */
import type { Principal } from '../identity/principal.js';
import { type BridgeEntry, PrincipalBridges } from './sessions.js';
import type { Upstream2025 } from './upstream.js';

/** An upstream session the proxy opened, carrying the headers of the request being served. */
export interface HeldUpstream extends Upstream2025 {
  /** The identity headers, assertion and upstream credential of the latest request (set per request). */
  headers: Record<string, string>;
  /** Ends the session upstream (as a client leaving does). */
  close(): void;
}

export type HeldBridge = BridgeEntry<HeldUpstream>;

export interface HeldBridgesOptions {
  /** A new upstream session (not opened yet: `ready()` opens it). */
  create(): HeldUpstream;
  /** How long a suspended request waits for the client's next round trip. */
  resumeTimeoutMs(): number;
  /** A bridge with nothing open and no request for this long ends. */
  idleMs(): number;
}

export class HeldBridges extends PrincipalBridges<HeldUpstream> {
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly o: HeldBridgesOptions) {
    super({ resumeTimeoutMs: o.resumeTimeoutMs, endUpstream: (up) => up.close() });
    const idle = o.idleMs();
    this.reaper = setInterval(() => this.endIdle(Date.now() - o.idleMs()), Math.max(250, Math.min(30_000, idle / 4)));
    this.reaper.unref();
  }

  /** The principal's bridge, its upstream session carrying this request's headers. */
  get(principal: Principal, headers: Record<string, string>): HeldBridge {
    const entry = this.entry(principal, () => this.o.create());
    entry.up.headers = headers;
    return entry;
  }

  /** The backend closes: every session ends. */
  override endAll(): Promise<void> {
    clearInterval(this.reaper);
    return super.endAll();
  }
}
