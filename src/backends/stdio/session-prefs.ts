/**
 * What each MCP session on one child asked for on its own: the client capabilities it
 * declared, the resources it subscribed to, and its log level. The child is initialized and
 * subscribed once for all of them; these decide which session gets which server message.
 */
import type { SessionLink } from './session-link.js';

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** The client capability a server→client request needs. */
const NEEDS: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

export class SessionPrefs {
  private readonly capabilities = new WeakMap<SessionLink, Record<string, unknown>>();
  private readonly levels = new Map<SessionLink, number>();
  private readonly subscriptions = new Map<string, Set<SessionLink>>();

  /** The capabilities the session's client declared in its own `initialize`. */
  declare(s: SessionLink, capabilities: unknown): void {
    this.capabilities.set(
      s,
      capabilities && typeof capabilities === 'object' ? (capabilities as Record<string, unknown>) : {},
    );
  }

  /** Whether the session's client declared the capability a server→client request needs. */
  canAnswer(s: SessionLink, method: string): boolean {
    const need = NEEDS[method];
    return need === undefined || this.capabilities.get(s)?.[need] != null;
  }

  subscribe(s: SessionLink, uri: string): void {
    const set = this.subscriptions.get(uri) ?? new Set();
    set.add(s);
    this.subscriptions.set(uri, set);
  }

  /** Drops the session's subscription; true when no session wants `uri` any more (the child is to be told). */
  unsubscribe(s: SessionLink, uri: string): boolean {
    const set = this.subscriptions.get(uri);
    set?.delete(s);
    if (set?.size) return false;
    this.subscriptions.delete(uri);
    return true;
  }

  subscribers(uri: unknown): SessionLink[] {
    return [...(this.subscriptions.get(String(uri)) ?? [])];
  }

  /**
   * Records the session's level; returns the level for the child: the most verbose any
   * attached session wants (a session that set none wants everything).
   */
  setLevel(s: SessionLink, level: unknown, attached: Iterable<SessionLink>): string {
    const rank = LEVELS.indexOf(String(level));
    if (rank >= 0) this.levels.set(s, rank);
    return LEVELS[Math.min(...[...attached].map((a) => this.levels.get(a) ?? 0))] ?? 'debug';
  }

  /** Whether a `notifications/message` at `level` passes the session's own level. */
  wants(s: SessionLink, level: unknown): boolean {
    const rank = LEVELS.indexOf(String(level));
    return rank < 0 || rank >= (this.levels.get(s) ?? 0);
  }

  /** Forgets the session; returns the URIs nobody is subscribed to any more. */
  detach(s: SessionLink): string[] {
    this.levels.delete(s);
    const gone: string[] = [];
    for (const [uri, set] of this.subscriptions) if (set.has(s) && this.unsubscribe(s, uri)) gone.push(uri);
    return gone;
  }
}
