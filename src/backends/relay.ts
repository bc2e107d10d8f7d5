/**
 * Passing an upstream HTTP answer (an HTTP backend's, or another replica's) back to the
 * client: status, end-to-end headers, and the body streamed (an SSE head flushed at once).
 */
import type { Readable } from 'node:stream';
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

/**
 * The whole body when it has already arrived (ended, all of it in the stream's buffer: a
 * small answer comes in the same socket read as its head), read without waiting; else undefined.
 * Nothing is waited for: a body still arriving (a slow or long-lived JSON answer) streams.
 */
export function arrived(body: Readable): Buffer | undefined {
  const state = (body as unknown as { _readableState?: { ended?: boolean } })._readableState;
  if (!state?.ended || body.readableFlowing) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for (let c: Buffer | null = body.read(); c !== null; c = body.read()) {
    chunks.push(c);
    size += c.length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
