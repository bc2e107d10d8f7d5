/**
 * Stage: the body as bytes. Bodies are never parsed by Fastify here: they arrive as a Buffer
 * (over `server.bodyLimit`: 413), are parsed once by the parse stage and forwarded as they came.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors } from '../../errors.js';

/** Every content type is read as bytes, within `bodyLimit` (registered in the MCP routes' own scope). */
export function acceptBodiesAsBytes(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
}

/** `application/json`, with or without parameters (charset). */
export function isJsonType(type: string | undefined): boolean {
  return type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * The request's bytes (undefined when it has none). Streamable HTTP posts JSON: a POST of
 * anything else is refused as an MCP server would (415), never guessed at.
 */
export function readBody(req: FastifyRequest): Buffer | undefined {
  if (req.method === 'POST' && !isJsonType(req.headers['content-type'])) throw new Errors.UNSUPPORTED_MEDIA_TYPE();
  return req.body as Buffer | undefined;
}
