/**
 * Principals handed from a virtual server to its members' `/mcp/<backend>` routes (in-process
 * requests): a random handle in one header stands for the principal already authenticated at the
 * virtual server, so no client credential is re-sent. Handles live only in this process, are
 * withdrawn when the virtual session ends, and the header (`x-mcp-proxy-*`) never reaches a backend.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import type { Principal } from './principal.js';

export const HANDOFF_HEADER = 'x-mcp-proxy-virtual';

export class PrincipalHandoff {
  private readonly held = new Map<string, Principal>();

  /** A handle for `p`, valid until `withdraw`. */
  issue(p: Principal): string {
    const handle = randomBytes(32).toString('base64url');
    this.held.set(handle, p);
    return handle;
  }

  /** The session's principal as last authenticated (groups or scopes may have changed). */
  update(handle: string, p: Principal): void {
    if (this.held.has(handle)) this.held.set(handle, p);
  }

  withdraw(handle: string): void {
    this.held.delete(handle);
  }

  /** Identity source: only in-process requests (Fastify inject) may present a handle; an unknown one is a 401. */
  readonly source = (req: FastifyRequest): Principal | null => {
    const handle = req.headers[HANDOFF_HEADER];
    if (handle === undefined) return null;
    const p = typeof handle === 'string' && isInjected(req) ? this.held.get(handle) : undefined;
    if (!p) throw new Errors.UNAUTHENTICATED();
    return p;
  };
}

/** light-my-request marks the requests it makes; no socket from outside carries that mark. */
const isInjected = (req: FastifyRequest): boolean =>
  (req.raw as { _lightMyRequest?: unknown })._lightMyRequest !== undefined;
