/**
 * Where each stdio MCP session lives, for the other replicas (server.advertiseUrl with a shared
 * store): the replica holding a session records its home and owner, renews the record while the
 * session is used, and a replica asked for a session it does not hold relays the request there,
 * or answers 404. Without replicas every method is a no-op or a 404.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../../errors.js';
import { principalKey, type Principal } from '../../identity/principal.js';
import type { Replicas } from '../../mcp/replicas.js';
import { foreignSession } from '../../mcp/session-owners.js';

/** What a home record is written for: the session's id, owner, and when it was last written (0: never). */
export interface HomedSession {
  readonly http: { readonly id: string };
  readonly link: { readonly principal: Principal };
  registeredAt: number;
}

export class SessionHomes {
  constructor(
    private readonly backend: string,
    private readonly replicas: Replicas | undefined,
    /** How long a record lives without renewal. */
    private readonly ttlMs: () => number,
  ) {}

  /** A session this replica does not hold: relayed to the replica that does, else 404. */
  async relay(req: FastifyRequest, reply: FastifyReply, sessionId: string, principal: Principal): Promise<void> {
    const replicas = this.replicas;
    const home =
      replicas && !replicas.relayed(req, sessionId) ? await replicas.lookup(this.backend, sessionId) : undefined;
    if (!home || home.replica === replicas!.self) throw new Errors.MCP_SESSION_NOT_FOUND();
    if (home.sub !== principalKey(principal)) throw foreignSession(req, this.backend, principal);
    await replicas!.relay(req, reply, this.backend, sessionId, home);
  }

  /** Records a new session (throws when the store cannot be reached: the caller ends the session). */
  async record(s: HomedSession): Promise<void> {
    if (!this.replicas) return;
    await this.replicas.register(this.backend, s.http.id, principalKey(s.link.principal), this.ttlMs());
    s.registeredAt = Date.now();
  }

  /** Renews the record while the session is used (a quarter of its lifetime at most apart). */
  renew(s: HomedSession): void {
    if (!this.replicas || Date.now() - s.registeredAt < this.ttlMs() / 4) return;
    s.registeredAt = Date.now();
    void this.replicas
      .register(this.backend, s.http.id, principalKey(s.link.principal), this.ttlMs())
      .catch(() => undefined);
  }
}
