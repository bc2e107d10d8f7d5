/**
 * An MCP session belongs to the principal that created it (DESIGN §6), for every backend kind:
 * anyone else presenting its `Mcp-Session-Id` gets 404 and the attempt is logged.
 * `SessionOwners` remembers owners of sessions a backend hands out (HTTP backends; stdio
 * sessions carry their owner). Bounded, so open registration cannot grow it forever.
 */
import type { FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import type { Principal } from '../identity/principal.js';
import { BoundedMap } from '../store/memory.js';
import type { Store } from '../store/store.js';

/** The 404 for a session presented by someone who does not own it, logged. */
export function foreignSession(req: FastifyRequest, backend: string, p: Principal): Error {
  req.log.warn({ event: 'mcp.session_foreign', backend, sub: p.sub }, 'MCP session presented by a principal that does not own it');
  return new Errors.MCP_SESSION_NOT_FOUND();
}

const OWNER_TTL_MS = 7 * 24 * 3600_000;

/**
 * Owners of the sessions a backend hands out: in memory, and in the Store when several
 * replicas share one (a session created through replica A is checked the same on B). A
 * store that cannot be reached refuses the call (503): never guess that a session is free.
 */
export class SessionOwners {
  private readonly owners = new BoundedMap<string, string>(200_000);

  constructor(private readonly store?: Store, private readonly prefix = 'mcp-owner') {}

  /** False when the session is known to belong to someone else. */
  async mayUse(sessionId: string, p: Principal): Promise<boolean> {
    let owner = this.owners.get(sessionId);
    if (owner === undefined && this.store) {
      owner = await this.store.get<string>(`${this.prefix}:${sessionId}`).catch(() => {
        throw new Errors.STORE_UNAVAILABLE();
      });
      if (owner !== undefined) this.owners.set(sessionId, owner);
    }
    return owner === undefined || owner === p.sub;
  }

  bind(sessionId: string, p: Principal): Promise<void> | undefined {
    if (this.owners.peek(sessionId) !== undefined) return;
    this.owners.set(sessionId, p.sub);
    return this.store?.set(`${this.prefix}:${sessionId}`, p.sub, OWNER_TTL_MS).catch(() => {
      throw new Errors.STORE_UNAVAILABLE();
    });
  }

  /** Sessions whose owner is remembered here. */
  get size(): number {
    return this.owners.size;
  }

  forget(sessionId: string): void {
    this.owners.delete(sessionId);
    void this.store?.delete(`${this.prefix}:${sessionId}`).catch(() => undefined);
  }
}
