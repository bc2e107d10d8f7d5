/**
 * The MCP endpoints: `/mcp/:backend` and `/mcp` (default backend), streamable HTTP. Route
 * registration only: what a request goes through is pipeline.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import type { Live } from '../live.js';
import type { AssertionSigner } from '../propagation/assertion.js';
import type { SessionTokens } from '../session/tokens.js';
import type { AuditLog } from '../observability/audit.js';
import type { UpstreamCredentials } from '../upstream/credentials.js';
import { mcpPipeline } from './pipeline.js';
import { acceptBodiesAsBytes } from './stages/read-body.js';
import type { OpenStreams } from './streams.js';
import { isBrowserVisit, sendMcpUrlPage } from '../web/mcp-url-page.js';
import { backendDecision } from '../policy/engine.js';

export interface McpRouteOptions {
  config: Config;
  signer: AssertionSigner;
  tokens: SessionTokens;
  audit: AuditLog;
  streams: OpenStreams;
  /** The live state: backends and policy mode are read from it per request. */
  live: Live;
  /** Credentials for backends with `upstream`. */
  upstream?: UpstreamCredentials;
}

export async function mcpRoutes(app: FastifyInstance, opts: McpRouteOptions): Promise<void> {
  const { config, live, streams } = opts;
  const pipeline = mcpPipeline({ ...opts, makeLimiter: (limit) => app.limiter(limit) });
  // A logged-in browser opening the URL gets a page saying what it is for and how to connect (an
  // anonymous one is sent to log in first, by the pipeline; MCP clients never match: README, Endpoints).
  const handle: typeof pipeline = async (req, reply, backend) => {
    const p = req.principal;
    if (!p || !isBrowserVisit(req)) return pipeline(req, reply, backend);
    const b = backend();
    if (!backendDecision(p, b.config).allow) throw new Errors.FORBIDDEN(`you may not use backend "${b.name}"`);
    sendMcpUrlPage(reply, config.server.publicUrl, (req.params as { backend?: string }).backend, b.name);
    return reply;
  };

  // GET streams never end by themselves: at shutdown they are cut (clients reconnect), calls in flight finish.
  app.addHook('preClose', async () => void streams.close());
  acceptBodiesAsBytes(app, config.server.bodyLimit);

  const methods = ['GET', 'POST', 'DELETE'] as const;
  // No automatic HEAD route for GET: a HEAD is not an MCP request and must not reach a backend.
  app.route<{ Params: { backend: string } }>({
    method: [...methods],
    url: '/mcp/:backend',
    exposeHeadRoute: false,
    handler: (req, reply) => handle(req, reply, () => live.current.backends.get(req.params.backend)),
  });
  app.route({
    method: [...methods],
    url: '/mcp',
    exposeHeadRoute: false,
    handler: (req, reply) => handle(req, reply, () => live.current.backends.getDefault()),
  });
  for (const url of ['/mcp', '/mcp/:backend']) {
    app.route({
      method: ['HEAD', 'PUT', 'PATCH'],
      url,
      handler: async (req) => {
        throw new Errors.METHOD_NOT_ALLOWED(req.method);
      },
    });
  }
}
