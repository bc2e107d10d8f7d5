/**
 * Stage: who is calling. Identity sources already ran (onRequest);
 * no principal is a 401 (or a login redirect for a browser).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requirePrincipal } from '../../identity/challenge.js';
import type { Principal } from '../../identity/principal.js';

export function authenticate(req: FastifyRequest, reply: FastifyReply, publicUrl: string): Principal | undefined {
  return requirePrincipal(req, reply, publicUrl);
}
