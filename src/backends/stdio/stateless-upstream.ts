/**
 * A stdio child as the version bridge's upstream 2025 session (one session attached to the child
 * per principal), and the bridges of one backend.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../identity/principal.js';
import type { RequestId, RpcMessage } from '../../mcp/jsonrpc.js';
import type { Upstream2025 } from '../../bridge/upstream.js';
import { type BridgeEntry, PrincipalBridges } from '../../bridge/sessions.js';
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

export interface BridgeSessionsOptions {
  /** The child this principal's upstream session goes on (spawned within the limits). */
  childFor(p: Principal, credential?: ChildToken): ChildBridge;
  filterFor(p: Principal): SessionLink['filterResult'];
  resumeTimeoutMs(): number;
  /** A child of its own (isolation: session): stopped when its session ends. */
  ownChild(): boolean;
}

/** The version bridges of one stdio backend: one upstream session per principal, ended when idle. */
export class BridgeSessions extends PrincipalBridges<StdioUpstream> {
  constructor(private readonly o: BridgeSessionsOptions) {
    super({
      resumeTimeoutMs: o.resumeTimeoutMs,
      stale: (up) => up.child.child.exited,
      // A child of its own with nothing else attached stops.
      endUpstream: (up) => {
        up.detach();
        if (o.ownChild() && up.child.sessions.size === 0) void up.child.child.stop();
      },
    });
  }

  /** The principal's bridge and upstream session, opened on first use. */
  get(principal: Principal, credential?: ChildToken): BridgeEntry<StdioUpstream> {
    return this.entry(
      principal,
      () => new StdioUpstream(this.o.childFor(principal, credential), principal, this.o.filterFor(principal)),
    );
  }
}
