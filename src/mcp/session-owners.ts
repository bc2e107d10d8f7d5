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

/** The 404 for a session presented by someone who does not own it, logged. */
export function foreignSession(req: FastifyRequest, backend: string, p: Principal): Error {
  req.log.warn({ event: 'mcp.session_foreign', backend, sub: p.sub }, 'MCP session presented by a principal that does not own it');
  return new Errors.MCP_SESSION_NOT_FOUND();
}

export class SessionOwners {
  private readonly owners = new BoundedMap<string, string>(200_000);

  /** False when the session is known to belong to someone else. */
  mayUse(sessionId: string, p: Principal): boolean {
    const owner = this.owners.get(sessionId);
    return owner === undefined || owner === p.sub;
  }

  bind(sessionId: string, p: Principal): void {
    if (this.owners.peek(sessionId) === undefined) this.owners.set(sessionId, p.sub);
  }

  forget(sessionId: string): void {
    this.owners.delete(sessionId);
  }
}
