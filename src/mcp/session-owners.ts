/**
 * An MCP session belongs to the principal that created it (DESIGN §6): the backend's
 * `Mcp-Session-Id` is bound to the creator's subject when the backend hands it out, and
 * anyone else presenting it gets 404. Bounded, so open registration cannot grow it forever.
 */
import { BoundedMap } from '../store/memory.js';
import type { Principal } from '../identity/principal.js';

export class SessionOwners {
  private readonly owners = new BoundedMap<string, string>(200_000);

  private key(backend: string, sessionId: string): string {
    return `${backend}\0${sessionId}`;
  }

  /** False when the session is known to belong to someone else. */
  mayUse(backend: string, sessionId: string, p: Principal): boolean {
    const owner = this.owners.get(this.key(backend, sessionId));
    return owner === undefined || owner === p.sub;
  }

  bind(backend: string, sessionId: string, p: Principal): void {
    const k = this.key(backend, sessionId);
    if (this.owners.peek(k) === undefined) this.owners.set(k, p.sub);
  }

  forget(backend: string, sessionId: string): void {
    this.owners.delete(this.key(backend, sessionId));
  }
}
