/**
 * RFC 9728 protected resource metadata, at `/.well-known/oauth-protected-resource` followed by
 * the path a client used (`/mcp`, `/mcp/<backend>`, `/api/…`). `resource` is exactly
 * `<publicUrl><path>`; `authorization_servers` lists the AS issuer byte for byte.
 */
import type { FastifyInstance } from 'fastify';
import type { Live } from '../live.js';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { MCP_SCOPE } from './provider.js';

export async function resourceMetadataRoutes(
  app: FastifyInstance,
  opts: { config: Config; live: Live; asEnabled: boolean },
) {
  const { config, live } = opts;
  const base = config.server.publicUrl;
  const body = (path: string) => ({
    resource: `${base}${path}`,
    authorization_servers: opts.asEnabled ? [base] : [],
    scopes_supported: live.current.resources.get(`${base}${path}`) ?? [MCP_SCOPE],
    bearer_methods_supported: ['header'],
    resource_name: path.startsWith('/mcp/') ? `MCP server "${path.slice(5)}" via mcp-oidc-proxy` : 'mcp-oidc-proxy',
    resource_documentation: `${base}/`,
  });
  const send = (path: string) => async (_req: unknown, reply: { header(k: string, v: string): unknown }) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.header('access-control-allow-origin', '*');
    return body(path);
  };
  app.get('/.well-known/oauth-protected-resource', send(''));
  app.get('/.well-known/oauth-protected-resource/mcp', async (req, reply) => {
    if (!live.current.backends.defaultName) throw new Errors.BACKEND_NOT_FOUND('(default) — use /mcp/<name>');
    return send('/mcp')(req, reply);
  });
  app.get<{ Params: { backend: string } }>('/.well-known/oauth-protected-resource/mcp/:backend', async (req, reply) => {
    live.current.backends.get(req.params.backend);
    return send(`/mcp/${req.params.backend}`)(req, reply);
  });
  app.get<{ Params: { '*': string } }>('/.well-known/oauth-protected-resource/api/*', async (req, reply) =>
    send(`/api/${req.params['*']}`)(req, reply),
  );
}
