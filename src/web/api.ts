/**
 * The REST API over MCP (endpoints in README.md). Deny by default: every `/api/*` path needs a principal
 * (401 with the resource-metadata pointer otherwise). Calls go through this proxy's own MCP
 * route with the caller's credential (web/mcp-client.ts): same identity, policy and audit.
 * Errors: `{"error": {code, message}}` with 400 / 401 / 403 / 404 / 502 / 504.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Config } from '../config/load.js';
import type { Live } from '../live.js';
import { connectionRequired, Errors } from '../errors.js';
import { requirePrincipal } from '../identity/challenge.js';
import { duplicateKey } from '../lib/json-scan.js';
import { POLICY_DENIED, URL_ELICITATION_REQUIRED } from '../mcp/jsonrpc.js';
import { backendDecision, callDecision } from '../policy/engine.js';
import { assertCsrf } from '../security/csrf.js';
import { connectionsApi, type ConnectionsApiOptions } from './connections.js';
import { healthApi } from './health-api.js';
import { RestMcpClients } from './mcp-client.js';

const nameBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1 }, arguments: { type: 'object' } },
} as const;
const uriBody = {
  type: 'object',
  required: ['uri'],
  additionalProperties: false,
  properties: { uri: { type: 'string', minLength: 1 } },
} as const;

export interface ApiRouteOptions {
  config: Config;
  live: Live;
  clients: RestMcpClients;
  /** `/api/connections` (web/connections.ts), under this plugin's principal and CSRF rules. */
  connections?: ConnectionsApiOptions;
}

export async function apiRoutes(app: FastifyInstance, opts: ApiRouteOptions) {
  const { config, live, clients } = opts;
  // Bodies with a key twice are refused as on /mcp: whatever sits in front of the proxy may have read the other copy.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const key = duplicateKey(body as Buffer);
    if (key !== undefined)
      return done(new Errors.BAD_REQUEST(`duplicate key ${JSON.stringify(key)} in an object`), undefined);
    parseJson(req, (body as Buffer).toString('utf8'), done);
  });
  app.addHook('onRequest', async (req, reply) => {
    if (!requirePrincipal(req, reply, config.server.publicUrl)) return reply;
  });
  // Cookie-authenticated writes carry the session's CSRF token (header X-CSRF-Token).
  app.addHook('preHandler', async (req) => {
    if (req.method !== 'GET' && req.principal?.source === 'session') assertCsrf(req, req.session.get('user')?.csrf);
  });

  app.get('/api/backends', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const { backends } = live.current;
    return {
      backends: backends
        .all()
        .filter((b) => backendDecision(req.principal!, b.config).allow)
        .map((b) => ({
          name: b.name,
          title: b.config.title ?? null,
          description: b.config.description ?? null,
          kind: b.config.http ? 'http' : b.config.stdio ? 'stdio' : 'virtual',
          url: `${config.server.publicUrl}/mcp/${b.name}`,
          default: b.name === backends.defaultName,
        })),
    };
  });

  /** Run one MCP call for the caller on backend `:b`, mapping failures to REST errors. */
  async function call<T>(req: FastifyRequest<{ Params: { b: string } }>, fn: (c: Client) => Promise<T>): Promise<T> {
    const backend = live.current.backends.get(req.params.b); // 404 for an unknown backend
    if (!backendDecision(req.principal!, backend.config).allow)
      throw new Errors.FORBIDDEN(`you may not use backend "${backend.name}"`);
    const credential = RestMcpClients.credential(req.headers as Record<string, unknown>);
    try {
      return await fn(await clients.client(backend.name, credential, req.principal!.sessionId));
    } catch (e) {
      if (e instanceof NotListed) throw e.error;
      if (!(e instanceof McpError)) await clients.dropFor(backend.name, credential);
      throw restError(e, backend.name, `${config.server.publicUrl}/connect/`);
    }
  }

  /**
   * A tool the caller's tools/list does not name is a 404, whatever the backend would answer
   * (SDK servers answer an unknown tool with an `isError` result, others with -32602). The
   * names are cached per MCP session for a short while; a miss lists again once, so a tool
   * added since is found.
   */
  async function callTool(
    req: FastifyRequest<{ Params: { b: string } }>,
    c: Client,
    name: string,
    args: Record<string, unknown>,
  ) {
    // A call policy refuses goes on to be refused (403) and audited by the MCP route as usual.
    const allowed = callDecision(req.principal!, live.current.backends.get(req.params.b).config, 'tools', name).allow;
    if (allowed && !(await toolNames.has(c, name))) throw new NotListed(new Errors.TOOL_NOT_FOUND(name));
    return c.callTool({ name, arguments: args });
  }

  type P = { Params: { b: string } };
  // A server without the capability has none of them: an empty list, not the error its method-not-found would be.
  const has = (c: Client, what: 'tools' | 'resources' | 'prompts') => !!c.getServerCapabilities()?.[what];
  app.get<P>('/api/backends/:b/tools', async (req) =>
    call(req, async (c) => ({ tools: has(c, 'tools') ? (await c.listTools()).tools : [] })),
  );
  app.get<P>('/api/backends/:b/resources', async (req) =>
    call(req, async (c) => ({ resources: has(c, 'resources') ? (await c.listResources()).resources : [] })),
  );
  app.get<P>('/api/backends/:b/prompts', async (req) =>
    call(req, async (c) => ({ prompts: has(c, 'prompts') ? (await c.listPrompts()).prompts : [] })),
  );
  app.post<P & { Body: { name: string; arguments?: Record<string, unknown> } }>(
    '/api/backends/:b/tools/call',
    { schema: { body: nameBody } },
    async (req) => call(req, (c) => callTool(req, c, req.body.name, req.body.arguments ?? {})),
  );
  app.post<P & { Body: { uri: string } }>(
    '/api/backends/:b/resources/read',
    { schema: { body: uriBody } },
    async (req) =>
      call(req, (c) =>
        c.readResource({ uri: req.body.uri }).catch(notFound(new Errors.RESOURCE_NOT_FOUND(req.body.uri))),
      ),
  );
  app.post<P & { Body: { name: string; arguments?: Record<string, string> } }>(
    '/api/backends/:b/prompts/get',
    { schema: { body: nameBody } },
    async (req) =>
      call(req, (c) =>
        c
          .getPrompt({ name: req.body.name, arguments: req.body.arguments as Record<string, string> | undefined })
          .catch(notFound(new Errors.PROMPT_NOT_FOUND(req.body.name))),
      ),
  );

  if (opts.connections) await app.register(connectionsApi, opts.connections);
  await app.register(healthApi, { live });
  const toolNames = new ToolNames();
  app.all('/api/*', async () => {
    throw new Errors.NOT_FOUND();
  });
}

/** Our own 404 for a name the backend does not offer: passed through `call` as it is. */
class NotListed extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/** MCP's "not found" answers: -32602 naming it (SDK servers), -32002 (resources, MCP spec). */
const isNotFound = (e: unknown) =>
  e instanceof McpError && (e.code === -32002 || (e.code === -32602 && /not found|unknown/i.test(e.message)));
const notFound =
  (error: Error) =>
  (e: unknown): never => {
    throw isNotFound(e) ? new NotListed(error) : e;
  };

const TOOL_NAMES_TTL_MS = 30_000;
/** A backend that pages forever is read this far. */
const MAX_PAGES = 100;

/** Tool names per MCP session (every page of tools/list), kept for TOOL_NAMES_TTL_MS. */
class ToolNames {
  private readonly byClient = new WeakMap<Client, { names: Set<string>; at: number }>();

  async has(c: Client, name: string): Promise<boolean> {
    const held = this.byClient.get(c);
    if (held && Date.now() - held.at < TOOL_NAMES_TTL_MS && held.names.has(name)) return true;
    const names = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await c.listTools(cursor ? { cursor } : undefined);
      for (const t of page.tools) names.add(t.name);
      cursor = page.nextCursor;
    } while (cursor && ++pages < MAX_PAGES);
    this.byClient.set(c, { names, at: Date.now() });
    return names.has(name);
  }
}

/** `ours`: the prefix of this proxy's connect links (a backend's own URL elicitation is not one). */
function restError(e: unknown, backend: string, ours: string): Error {
  if (e instanceof McpError) {
    const data = e.data as { code?: unknown } | undefined;
    if (data?.code === 'UPSTREAM_TOKEN_UNAVAILABLE')
      return Object.assign(new Errors.UPSTREAM_TOKEN_UNAVAILABLE(backend, ''), {
        message: e.message.replace(/^MCP error -?\d+: /, ''),
      });
    if (data?.code === 'UPSTREAM_TOKEN_FAILED') return new Errors.UPSTREAM_TOKEN_FAILED(backend);
    if (e.code === URL_ELICITATION_REQUIRED) {
      const first = (e.data as { elicitations?: { url?: unknown; elicitationId?: unknown }[] } | undefined)
        ?.elicitations?.[0];
      if (typeof first?.url === 'string' && first.url.startsWith(ours))
        return connectionRequired(backend, first.url, String(first.elicitationId));
    }
    if (e.code === POLICY_DENIED)
      return new Errors.FORBIDDEN(e.message.replace(/^MCP error -?\d+: /, '').replace(/^access denied: /, ''));
    if (isNotFound(e)) return new Errors.NOT_FOUND();
    if (e.code === -32602 || e.code === -32600)
      return new Errors.BAD_REQUEST(e.message.replace(/^MCP error -?\d+: /, ''));
    if (e.code === -32001 && /timed out/i.test(e.message)) return new Errors.BACKEND_TIMEOUT(backend);
  }
  const status = e instanceof StreamableHTTPError ? e.code : undefined;
  if (status === 401) return new Errors.UNAUTHENTICATED();
  if (status === 403) return new Errors.FORBIDDEN(`you may not use backend "${backend}"`);
  if (status === 504) return new Errors.BACKEND_TIMEOUT(backend);
  return new Errors.BACKEND_UNAVAILABLE(backend);
}
