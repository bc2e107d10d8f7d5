/** `/.well-known/jwks.json`: the keys that sign identity assertions (and, later, access tokens). */
import type { FastifyInstance } from 'fastify';
import type { SigningKey } from './keys.js';

export async function jwksRoute(app: FastifyInstance, opts: { keys: SigningKey[] }) {
  const body = { keys: opts.keys.map((k) => k.publicJwk) };
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return body;
  });
}
