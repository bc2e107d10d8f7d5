/**
 * A stdio child as the version bridge's upstream 2025 session (one session attached to the child
 * per principal), and the bridges of one backend.
 */
import { randomUUID } from 'node:crypto';
import { principalKey, type Principal } from '../../identity/principal.js';
import type { RequestId, RpcMessage } from '../../mcp/jsonrpc.js';
import type { Upstream2025 } from '../../bridge/upstream.js';
import { VersionBridge } from '../../bridge/bridge.js';
import type { ChildBridge } from './bridge.js';
import type { SessionLink } from './session-link.js';
import type { ChildToken } from './token-file.js';

export class StdioUpstream implements Upstream2025 {
  readonly link: SessionLink;
  onmessage?: (msg: RpcMessage, relatedRequestId?: RequestId) => void;
  onclose?: () => void;

  constructor(
    readonly child: ChildBridge,
    principal: Principal,
    filterResult?: SessionLink['filterResult'],
  ) {
    this.link = {
      id: `bridge-${randomUUID()}`,
      principal,
      lastActive: Date.now(),
      getStreamOpen: false,
      deliver: (m, related) => this.onmessage?.(m, related),
      gone: () => this.onclose?.(),
      filterResult,
      stateless: true,
    };
    child.attach(this.link);
  }

  ready(): Promise<Record<string, unknown>> {
    return this.child.ready(this.link);
  }

  send(msg: RpcMessage): void {
    this.child.fromClient(this.link, msg);
  }

  /** The session ends on the child (its requests cancelled, its subscriptions ended). */
  detach(): void {
    this.child.detach(this.link);
  }
}

interface Entry {
  up: StdioUpstream;
  bridge: VersionBridge;
}

export interface BridgeSessionsOptions {
  /** The child this principal's upstream session goes on (spawned within the limits). */
  childFor(p: Principal, credential?: ChildToken): ChildBridge;
  filterFor(p: Principal): SessionLink['filterResult'];
  resumeTimeoutMs(): number;
  /** A child of its own (isolation: session): stopped when its session ends. */
  ownChild(): boolean;
}

/** The version bridges of one stdio backend: one upstream session per principal, ended when idle. */
export class BridgeSessions {
  private readonly map = new Map<string, Entry>();

  constructor(private readonly o: BridgeSessionsOptions) {}

  /** The principal's bridge and upstream session, opened on first use. */
  get(principal: Principal, credential?: ChildToken): Entry {
    const who = principalKey(principal);
    const found = this.map.get(who);
    if (found && !found.up.child.child.exited) return found;
    const up = new StdioUpstream(this.o.childFor(principal, credential), principal, this.o.filterFor(principal));
    const entry = { up, bridge: new VersionBridge(up, { resumeTimeoutMs: this.o.resumeTimeoutMs() }) };
    const onclose = up.onclose;
    up.onclose = () => {
      onclose?.();
      if (this.map.get(who) === entry) this.map.delete(who);
    };
    this.map.set(who, entry);
    return entry;
  }

  /** Ends a principal's upstream session; a child of its own with nothing else attached stops. */
  end(who: string): void {
    const entry = this.map.get(who);
    if (!entry) return;
    this.map.delete(who);
    entry.bridge.close();
    entry.up.detach();
    if (this.o.ownChild() && entry.up.child.sessions.size === 0) void entry.up.child.child.stop();
  }

  /** Ends the sessions idle since `cutoff` (all idle ones when undefined). */
  endIdle(cutoff = Number.POSITIVE_INFINITY): void {
    for (const [who, e] of this.map) if (e.bridge.lastActive < cutoff && !e.bridge.busy) this.end(who);
  }

  endAll(): void {
    for (const who of [...this.map.keys()]) this.end(who);
  }
}
