/**
 * An MCP session belongs to the principal that created it, for every backend kind: anyone
 * else presenting its `Mcp-Session-Id` gets 404 and the attempt is logged.
 *
 * HTTP backends: the id a client sees is the backend's own id sealed (AES-256-GCM) together
 * with its owner, bound to the backend's name and upstream URL. Ownership needs no lookup
 * that could be missing, evicted or lost in a restart; an id issued for another backend
 * (even one with the same upstream) or never issued at all does not open, so an unknown id
 * fails closed. Every replica with the same `session.keys` opens it. stdio sessions carry
 * their owner in the session itself.
 */
import type { FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import { principalKey, type Principal } from '../identity/principal.js';
import { BoundedMap } from '../store/memory.js';
import { Sealer } from '../store/sealed.js';

/** The 404 for a session presented by someone who does not own it, logged. */
export function foreignSession(req: FastifyRequest, backend: string, p: Principal): Error {
  req.log.warn(
    { event: 'mcp.session_foreign', backend, sub: p.sub, principal: principalKey(p) },
    'MCP session presented by a principal that does not own it',
  );
  return new Errors.MCP_SESSION_NOT_FOUND();
}

export class SessionIds {
  private readonly sealer: Sealer;
  /**
   * Ids opened before, by scope and presented value: [owner, backend id]. Opening costs an
   * AES-GCM pass and a JSON parse per request; a hit costs a map lookup. Only what opened is
   * kept, so the cache cannot make an unknown id valid.
   */
  private readonly opened = new BoundedMap<string, readonly [string, string]>(50_000);

  /** `keys`: session.keys (the first seals, all open: a key rotation keeps sessions). */
  constructor(keys: readonly string[]) {
    this.sealer = new Sealer(keys, 'mcp session ids v1');
  }

  /** The id to give the client for the backend's session `id`, owned by `p`. */
  issue(scope: string, id: string, p: Principal): string {
    return this.sealer.seal(scope, [principalKey(p), id]);
  }

  /** The backend's session id behind `presented`; a 404 when it was not issued for this scope and principal. */
  open(req: FastifyRequest, scope: string, presented: string, backend: string, p: Principal): string {
    const cacheKey = `${scope}\n${presented}`;
    let opened = this.opened.get(cacheKey);
    if (!opened) {
      const value = this.sealer.open<unknown>(scope, presented);
      if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'string') {
        req.log.info({ event: 'mcp.session_unknown', backend }, 'unknown MCP session id');
        throw new Errors.MCP_SESSION_NOT_FOUND();
      }
      opened = [value[0], value[1]];
      this.opened.set(cacheKey, opened);
    }
    if (opened[0] !== principalKey(p)) throw foreignSession(req, backend, p);
    return opened[1];
  }
}
