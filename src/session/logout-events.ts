/**
 * Logout reaches every replica. A replica that ends a browser session, a user's sessions
 * everywhere, or a grant publishes it through the shared store (Redis pub/sub, PostgreSQL
 * LISTEN/NOTIFY; messages sealed with the store's keys); every other replica then ends what it
 * holds for it — the GET streams and REST sessions of that browser session, the streams and
 * stdio sessions of that user, the streams of that grant — and drops its cached confirmation, so a cookie or a token is
 * refused there at once rather than at the next recheck. With the memory store there is one
 * process and nothing to publish.
 */
import type { FastifyBaseLogger } from 'fastify';
import { randomId } from '../lib/crypto.js';
import type { Store } from '../store/store.js';
import { errorCause } from '../lib/error-cause.js';

export type LogoutEvent = { session: string } | { user: string } | { grant: string };

export interface LogoutHandlers {
  session(sessionId: string): Promise<void>;
  user(sub: string): Promise<void>;
  grant(grantId: string): Promise<void>;
}

const CHANNEL = 'logout';

export class LogoutEvents {
  /** This replica's messages come back to it: recognised by this id and skipped. */
  private readonly origin = randomId();
  private listening?: Promise<(() => Promise<void>) | undefined>;

  constructor(
    private readonly store: Store,
    private readonly log: FastifyBaseLogger,
  ) {}

  async publish(event: LogoutEvent): Promise<void> {
    await this.store.publish?.(CHANNEL, { ...event, from: this.origin }).catch((e: Error) => {
      this.log.error(
        { event: 'store.unavailable', reason: e.message },
        'logout not announced to the other replicas (they refuse it at their next recheck)',
      );
    });
  }

  listen(h: LogoutHandlers): void {
    if (!this.store.subscribe) return;
    this.listening = this.store
      .subscribe(CHANNEL, (m) => void this.receive(m, h))
      .catch((e: Error) => {
        this.log.error(
          { event: 'logout.events_unavailable', reason: e.message },
          'not listening to logout events of other replicas',
        );
        return undefined;
      });
  }

  private async receive(m: unknown, h: LogoutHandlers): Promise<void> {
    const e = m as { from?: unknown; session?: unknown; user?: unknown; grant?: unknown } | null;
    if (!e || typeof e !== 'object' || e.from === this.origin) return;
    try {
      if (typeof e.session === 'string') await h.session(e.session);
      if (typeof e.user === 'string') await h.user(e.user);
      if (typeof e.grant === 'string') await h.grant(e.grant);
    } catch (err) {
      this.log.warn(
        { event: 'logout.remote_failed', reason: errorCause(err) },
        'a logout from another replica was not applied in full',
      );
    }
  }

  async close(): Promise<void> {
    const stop = await this.listening;
    await stop?.();
  }
}
