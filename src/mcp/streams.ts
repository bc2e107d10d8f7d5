/**
 * Long-lived MCP responses (GET streams) with who opened them, so shutdown can cut them all
 * and a logout or a revocation can cut the ones of a user, of one browser session or of one grant.
 */
import type { ServerResponse } from 'node:http';
import { principalKey, type Principal } from '../identity/principal.js';

export interface StreamOwner {
  sub: string;
  sessionId?: string;
  grantId?: string;
}

export class OpenStreams {
  private readonly open = new Map<ServerResponse, StreamOwner>();

  add(res: ServerResponse, p: Principal): void {
    this.open.set(res, { sub: principalKey(p), sessionId: p.sessionId, grantId: p.grantId });
    res.once('close', () => this.open.delete(res));
  }

  /** Streams open now. */
  get size(): number {
    return this.open.size;
  }

  /** Ends the streams matching `which` (all when omitted; `sub` is a principal key); returns how many. */
  close(which?: Partial<StreamOwner>): number {
    let n = 0;
    for (const [res, owner] of this.open) {
      if (which?.sub !== undefined && owner.sub !== which.sub) continue;
      if (which?.sessionId !== undefined && owner.sessionId !== which.sessionId) continue;
      if (which?.grantId !== undefined && owner.grantId !== which.grantId) continue;
      res.destroy();
      n++;
    }
    return n;
  }
}
