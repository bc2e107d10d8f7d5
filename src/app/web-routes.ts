/**
 * The browser side of the proxy, registered by the composition root after the MCP routes: the home
 * page and favicon, the REST API, the connect flow, the explorer, and with `admin` the console.
 */
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../admin/context.js';
import { adminRoutes } from '../admin/plugin.js';
import { AsRegistry } from '../authz-server/registry.js';
import { apiRoutes } from '../web/api.js';
import { connectRoutes } from '../web/connect.js';
import { explorerRoutes } from '../web/explorer.js';
import { faviconRoutes } from '../web/favicon.js';
import { homeRoutes } from '../web/home.js';
import type { RestMcpClients } from '../web/mcp-client.js';
import type { buildUpstream } from './upstream.js';

export interface WebRouteOptions extends Omit<AdminDeps, 'registry' | 'connections' | 'oauth'> {
  /** Each user's connections to `oauth` backends (./upstream.ts). */
  oauth: ReturnType<typeof buildUpstream>['oauth'];
  clients: RestMcpClients;
  /** With an authorization server: a grant deleted from the console takes its upstream login along. */
  grantGone?: (gid: string) => Promise<void>;
}

export async function registerWebRoutes(app: FastifyInstance, o: WebRouteOptions): Promise<void> {
  const { config, live, oauth } = o;
  await app.register(homeRoutes, { config, live, connections: oauth.connections });
  await app.register(faviconRoutes);
  const connections = { live, connections: oauth.connections, oauth: oauth.tokens, tokens: o.tokens };
  await app.register(apiRoutes, { config, live, clients: o.clients, connections });
  await app.register(connectRoutes, { config, live, flow: oauth.flow, records: oauth.records });
  await app.register(explorerRoutes, { config, live, connections: oauth.connections });
  if (config.admin)
    await app.register(adminRoutes, {
      config,
      live,
      audit: o.audit,
      store: o.store,
      registry: o.grantGone ? new AsRegistry(o.store, o.grantGone) : undefined,
      logout: o.logout,
      tokens: o.tokens,
      connections: oauth.connections,
      oauth: oauth.tokens,
      lastUsed: o.lastUsed,
    });
}
