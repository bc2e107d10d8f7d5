/**
 * The MCP server of the oauth-backend fixture (backend-as.ts): the SDK's streamable HTTP
 * transport behind a bearer check (signature from the AS's JWKS, iss, aud = its own URL, exp),
 * RFC 9728 metadata, a 401 with `WWW-Authenticate: Bearer resource_metadata=…`, and a `whoami`
 * tool reporting the token's sub, scope and fingerprint. Also the listen/close helpers both use.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/** What the MCP server saw on a request that carried a valid token. */
export interface BackendCall {
  method?: string;
  sub: string;
  fingerprint: string;
  clientId?: string;
}

export interface BackendMcp {
  /** The MCP endpoint, `<origin>/mcp`: also the resource (and token `aud`). */
  url: string;
  origin: string;
  resourceMetadataUrl: string;
  /** Requests that passed the token check, in order. */
  calls: BackendCall[];
  /** Requests refused with 401, with the reason. */
  refused: string[];
  close(): Promise<void>;
}

/** The fingerprint `whoami` reports for a token: a sha256 prefix (tells tokens apart without showing them). */
export const fingerprint = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);

/** Listens on loopback (`port` 0: any free port); the port. */
export async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops listening and cuts open connections (the server can listen again). */
export async function shut(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function whoamiServer(): McpServer {
  const server = new McpServer({ name: 'oauth-backend', version: '1.0.0' });
  server.registerTool(
    'whoami',
    { description: "The backend token's subject, scope and fingerprint" },
    async (extra) => {
      const auth = extra.authInfo;
      const claims = (auth?.extra ?? {}) as { sub?: string; scope?: string; aud?: unknown; exp?: number };
      const result = {
        sub: claims.sub ?? null,
        scope: claims.scope ?? null,
        clientId: auth?.clientId ?? null,
        aud: claims.aud ?? null,
        exp: claims.exp ?? null,
        fingerprint: auth ? fingerprint(auth.token) : null,
      };
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
    },
  );
  return server;
}

/** The MCP server: bearer check (iss, aud, exp, signature from the AS's JWKS), RFC 9728 metadata, whoami. */
export function serveMcp(server: Server, origin: string, issuer: string, scopes: string[]): BackendMcp {
  const url = `${origin}/mcp`;
  const resourceMetadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const calls: BackendCall[] = [];
  const refused: string[] = [];
  const challenge = (error?: string) =>
    `Bearer resource_metadata="${resourceMetadataUrl}"${error ? `, error="${error}"` : ''}`;

  async function verify(req: IncomingMessage): Promise<AuthInfo | string> {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return 'no bearer token';
    const token = m[1]!;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer, audience: url, typ: 'at+jwt' }));
    } catch (err) {
      return `invalid token: ${(err as { code?: string }).code ?? (err as Error).message}`;
    }
    const scope = typeof payload.scope === 'string' ? payload.scope : '';
    return {
      token,
      clientId: String(payload.client_id ?? ''),
      scopes: scope.split(' ').filter(Boolean),
      expiresAt: payload.exp,
      extra: { sub: payload.sub, scope, aud: payload.aud, exp: payload.exp },
    };
  }

  async function handle(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse) {
    const path = new URL(req.url ?? '/', origin).pathname;
    if (req.method === 'GET' && path === '/.well-known/oauth-protected-resource/mcp') {
      return json(res, 200, {
        resource: url,
        authorization_servers: [issuer],
        scopes_supported: scopes,
        bearer_methods_supported: ['header'],
      });
    }
    if (path !== '/mcp') return json(res, 404, { error: 'not found' });
    const auth = await verify(req);
    if (typeof auth === 'string') {
      refused.push(auth);
      req.resume();
      const error = auth === 'no bearer token' ? undefined : 'invalid_token';
      return json(
        res,
        401,
        { error: error ?? 'unauthorized', error_description: auth },
        {
          'www-authenticate': challenge(error),
        },
      );
    }
    req.auth = auth;
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const method = (body as { method?: string } | undefined)?.method;
    calls.push({ method, sub: String(auth.extra?.sub), fingerprint: fingerprint(auth.token), clientId: auth.clientId });
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      if (!transport) return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' } });
      return transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return json(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session' }, id: null });
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await whoamiServer().connect(transport);
    await transport.handleRequest(req, res, body);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: err.message });
      else res.end();
    });
  });

  return {
    url,
    origin,
    resourceMetadataUrl,
    calls,
    refused,
    async close() {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => undefined)));
      await shut(server);
    },
  };
}
