/** A stdio child as the version bridge's upstream 2025 session: one session attached to the child per principal. */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../identity/principal.js';
import type { RequestId, RpcMessage } from '../../mcp/jsonrpc.js';
import type { Upstream2025 } from '../../bridge/upstream.js';
import type { ChildBridge } from './bridge.js';
import type { SessionLink } from './session-link.js';

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
