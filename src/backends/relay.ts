/**
 * Passing an upstream HTTP answer (an HTTP backend's, or another replica's) back to the
 * client: status, end-to-end headers, and the body streamed (an SSE head flushed at once).
 */
import type { FastifyReply } from 'fastify';
import type { Dispatcher } from 'undici';
import { hopByHopAnd } from '../lib/hop-by-hop.js';

/**
 * Response headers never relayed: hop-by-hop ones, cookies (the backend's, not the client's to
 * keep) and X-Request-Id (the client gets this proxy's id, the one in its log lines).
 */
const NOT_RELAYED = hopByHopAnd('set-cookie', 'x-request-id');

/** Status and headers of `res` onto the reply (hop-by-hop ones and Set-Cookie left out). */
export function relayHead(reply: FastifyReply, res: Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'>): void {
  reply.code(res.statusCode);
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined && !NOT_RELAYED.has(name)) reply.header(name, value);
  }
  if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    reply.header('x-accel-buffering', 'no');
    // Fastify writes a streamed response's head with its first chunk; an SSE stream may stay
    // quiet for minutes, so send the head as soon as Fastify starts piping.
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
  }
}
