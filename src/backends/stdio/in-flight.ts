/**
 * The requests one child is working on, and which session each came from: those in flight,
 * and those abandoned (cancelled, timed out, or whose session ended) that the child may still
 * act on for a while. A message the child sends on its own (a log, a sampling request) names
 * no request, so it belongs to a session only when that session is the one that can have
 * caused it.
 */
import type { RequestId } from '../../mcp/jsonrpc.js';
import type { SessionLink } from './session-link.js';

export interface Pending {
  session: SessionLink;
  originalId: RequestId;
  method: string;
  timer: NodeJS.Timeout;
  progressToken?: string | number;
  /** Runs with the child's answer before it is delivered. */
  answered?: (msg: { result?: unknown }) => void;
}

export class InFlight {
  private readonly pending = new Map<number, Pending>();
  private readonly progress = new Map<number, Pending>();
  private readonly abandoned = new Map<number, { session: SessionLink; until: number }>();

  /** `graceMs`: how long an abandoned request still counts as a possible cause. */
  constructor(private readonly graceMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  ids(): number[] {
    return [...this.pending.keys()];
  }

  get(childId: number): Pending | undefined {
    return this.pending.get(childId);
  }

  add(childId: number, p: Pending): void {
    this.pending.set(childId, p);
    if (p.progressToken !== undefined) this.progress.set(childId, p);
  }

  byProgressToken(token: unknown): Pending | undefined {
    return this.progress.get(Number(token));
  }

  /** The child id of session `s`'s request `originalId`, while in flight. */
  find(s: SessionLink, originalId: unknown): number | undefined {
    for (const [id, p] of this.pending) if (p.session === s && p.originalId === originalId) return id;
    return undefined;
  }

  ofSession(s: SessionLink): Array<[number, Pending]> {
    return [...this.pending].filter(([, p]) => p.session === s);
  }

  /** No longer in flight (answered or failed). */
  settle(childId: number): Pending | undefined {
    const p = this.pending.get(childId);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(childId);
    this.progress.delete(childId);
    return p;
  }

  /** No longer in flight, but the child may still be working on it: its messages go to nobody. */
  abandon(childId: number): Pending | undefined {
    const p = this.settle(childId);
    if (p) this.abandoned.set(childId, { session: p.session, until: Date.now() + this.graceMs });
    return p;
  }

  /** The child answered an abandoned request: it has stopped working on it. */
  finished(childId: number): void {
    this.abandoned.delete(childId);
  }

  /** Nothing in flight and nothing abandoned that the child may still act on. */
  get quiet(): boolean {
    this.expire();
    return this.pending.size === 0 && this.abandoned.size === 0;
  }

  /**
   * The request an unprompted message relates to: the latest in flight, when every request in
   * flight or abandoned is one session's. Undefined when none is in flight or several sessions
   * could have caused it.
   */
  cause(): Pending | undefined {
    this.expire();
    const live = [...this.pending.values()];
    const last = live.at(-1);
    if (!last) return undefined;
    const others =
      live.some((p) => p.session !== last.session) ||
      [...this.abandoned.values()].some((a) => a.session !== last.session);
    return others ? undefined : last;
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, a] of this.abandoned) if (a.until <= now) this.abandoned.delete(id);
  }
}
