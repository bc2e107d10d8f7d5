/**
 * CORS for browser MCP clients (MCP Inspector) on `/mcp*`, `/api/*` and the resource
 * metadata: only publicUrl's origin and `server.allowedOrigins` (the Origin check in
 * security/plugin.ts refuses the rest with 403 before this runs).
 */
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import { allowedOrigins } from './plugin.js';
import { isApiPath, isMcpPath, isResourceMetadataPath } from '../lib/paths.js';

async function corsPlugin(app: FastifyInstance, opts: { config: Config }) {
  const origins = allowedOrigins(opts.config);
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (req, cb) => {
      const url = req.url ?? '';
      const applies = isMcpPath(url) || isApiPath(url) || isResourceMetadataPath(url);
      const origin = req.headers.origin;
      cb(null, {
        origin: applies && origin !== undefined && origins.has(origin) ? origin : false,
        methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'Mcp-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-ID', 'X-API-Key', 'X-CSRF-Token'],
        exposedHeaders: ['Mcp-Session-Id', 'WWW-Authenticate', 'Mcp-Protocol-Version'],
        maxAge: 3600,
      });
    },
  });
}

export default fp(corsPlugin, { name: 'cors' });
