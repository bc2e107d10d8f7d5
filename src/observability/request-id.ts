/**
 * Request ids: one random id per request, in every log line of that request (`reqId`), in the
 * `X-Request-Id` response header and on error pages, so a user's report finds its log lines.
 * An id a client sends is never used (it could forge or collide with another request's lines).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Fastify's `genReqId`: 16 hex characters, unguessable and short enough to read out. */
export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

/** Every response carries its request id. */
export function requestIdHeader(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
}
