/**
 * A name served by a new backend (or by none: removed) while older backends of that name still
 * hold MCP sessions after a reload: a request for a session an old one holds goes there, every
 * other request to the new one.
 */
import type { BackendConfig } from '../config/schema.js';
import { Errors } from '../errors.js';
import type { Backend, BackendStats, BackendStatus, McpForward } from './backend.js';

export class Handover implements Backend {
  constructor(
    readonly name: string,
    private readonly next: Backend | undefined,
    private readonly old: readonly Backend[],
  ) {}

  private get newest(): Backend {
    return this.next ?? this.old.at(-1)!;
  }

  get config(): BackendConfig {
    return this.newest.config;
  }

  get audience(): string[] {
    return this.newest.audience;
  }

  get keepsSessions(): boolean {
    return this.newest.keepsSessions;
  }

  forward(f: McpForward): Promise<void> {
    const sid = f.req.headers['mcp-session-id'];
    const holder = typeof sid === 'string' ? this.old.find((b) => b.holds(sid)) : undefined;
    if (holder) return holder.forward(f);
    if (!this.next) throw new Errors.BACKEND_NOT_FOUND(this.name);
    return this.next.forward(f);
  }

  status(): Promise<BackendStatus> {
    return this.next?.status() ?? Promise.resolve({ ok: true, detail: 'removed; draining' });
  }

  stats(): BackendStats {
    return this.next?.stats() ?? { sessions: 0 };
  }

  holds(sessionId: string): boolean {
    return [this.next, ...this.old].some((b) => b?.holds(sessionId));
  }

  async endUser(sub: string): Promise<void> {
    await Promise.all([this.next, ...this.old].map((b) => b?.endUser(sub)));
  }

  /** Handovers are rebuilt at each reload from the backends themselves: nothing to inherit or adopt. */
  inherit(): void {}

  adopt(): void {}

  async drain(): Promise<void> {
    await this.next?.drain();
  }

  /** The new backend only: the old ones are closed by the reloader once they hold no session. */
  async close(): Promise<void> {
    await this.next?.close();
  }
}
