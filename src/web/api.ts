/**
 * The REST API over MCP (DESIGN §5). Deny by default: every `/api/*` path needs a principal
 * (401 with the resource-metadata pointer otherwise), unknown paths are JSON 404s.
 * `GET /api/backends` lists the backends; the per-backend MCP calls build on it.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import type { BackendRegistry } from '../backends/registry.js';
import { Errors } from '../errors.js';
import { requirePrincipal } from '../identity/challenge.js';

export async function apiRoutes(app: FastifyInstance, opts: { config: Config; backends: BackendRegistry }) {
  const { config, backends } = opts;
  app.addHook('onRequest', async (req, reply) => {
    if (!requirePrincipal(req, reply, config.server.publicUrl)) return reply;
  });

  app.get('/api/backends', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return {
      backends: backends.all().map((b) => ({
        name: b.name,
        title: b.config.title ?? null,
        description: b.config.description ?? null,
        kind: b.config.http ? 'http' : 'stdio',
        url: `${config.server.publicUrl}/mcp/${b.name}`,
        default: b.name === backends.defaultName,
      })),
    };
  });

  app.all('/api/*', async () => {
    throw new Errors.NOT_FOUND();
  });
}
