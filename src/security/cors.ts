/**
 * CORS for browser MCP clients (MCP Inspector) on `/mcp*`, `/api/*` and the resource
 * metadata: only publicUrl's origin and `server.allowedOrigins` (the Origin check in
 * security/plugin.ts refuses the rest with 403 before this runs). No credentials mode:
 * cross-origin callers use bearer tokens, never the session cookie.
 *
 * Written out rather than @fastify/cors: its per-request option handling cost ~6% of an
 * MCP call's CPU, and its headers did not reach hijacked (stdio) responses.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import { allowedOrigins } from './plugin.js';
import { isApiPath, isMcpPath, isResourceMetadataPath } from '../lib/paths.js';

const PREFLIGHT = {
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers':
    'Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID, X-API-Key, ' +
    'X-CSRF-Token, DPoP',
  'access-control-max-age': '3600',
};
const EXPOSE = 'Mcp-Session-Id, WWW-Authenticate, Mcp-Protocol-Version, DPoP-Nonce';

async function corsPlugin(app: FastifyInstance, opts: { config: Config }) {
  const origins = allowedOrigins(opts.config);
  app.addHook('onRequest', (req, reply, done) => {
    const url = req.url;
    if (!(isMcpPath(url) || isApiPath(url) || isResourceMetadataPath(url))) return done();
    // Raw headers: they must also reach responses a backend writes itself (stdio).
    reply.raw.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !origins.has(origin)) return done();
    reply.raw.setHeader('access-control-allow-origin', origin);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      reply.code(204).headers(PREFLIGHT).send();
      return;
    }
    reply.raw.setHeader('access-control-expose-headers', EXPOSE);
    done();
  });
}

export default fp(corsPlugin, { name: 'cors' });
