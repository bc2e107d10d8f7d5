#!/usr/bin/env node
// Demo MCP backend over streamable HTTP (stateful sessions, POST + GET SSE + DELETE).
// `whoami` reports what the proxy forwarded: X-Forwarded-* headers, the verified
// X-MCP-Proxy-Assertion, params._meta, and whether a bearer token or cookie leaked.
//
//   node examples/demo-http-server.mjs --port 9101 [--host 127.0.0.1]
//     [--jwks-url URL] [--issuer ISS] [--audience AUD]
//   env: DEMO_PORT, DEMO_HOST, PROXY_JWKS_URL, PROXY_ISSUER, DEMO_AUDIENCE
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createDemoServer, isMainModule, metaUser } from './demo-tools.mjs';

const MCP_PATH = '/mcp';
const BODY_LIMIT = 4 * 1024 * 1024;
const SEEN_LIMIT = 1000;

function splitList(value) {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function makeAssertionChecker({ jwksUrl, issuer, audience }) {
  const jwks = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : undefined;
  return async function checkAssertion(token) {
    if (!token) return { present: false, valid: false, error: 'no x-mcp-proxy-assertion header' };
    if (!jwks) return { present: true, valid: false, error: 'demo server has no jwksUrl configured' };
    try {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        ...(issuer ? { issuer } : {}),
        ...(audience ? { audience } : {}),
      });
      return { present: true, valid: true, claims: payload, alg: protectedHeader.alg };
    } catch (err) {
      return { present: true, valid: false, error: `${err.code ?? err.name}: ${err.message}` };
    }
  };
}

function makeIdentityDescriber(checkAssertion) {
  return async function describeIdentity(extra) {
    const headers = extra.requestInfo?.headers ?? {};
    const header = (name) => {
      const v = headers[name];
      return Array.isArray(v) ? v.join(', ') : (v ?? null);
    };
    return {
      transport: 'http',
      user: header('x-forwarded-user'),
      email: header('x-forwarded-email'),
      groups: splitList(header('x-forwarded-groups')),
      tenant: header('x-forwarded-tenant'),
      assertion: await checkAssertion(header('x-mcp-proxy-assertion')),
      leakedAuthorization: header('authorization') !== null,
      leakedCookie: header('cookie') !== null,
      meta: metaUser(extra),
      sessionId: extra.sessionId ?? null,
    };
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        req.removeAllListeners('data');
        req.resume(); // drain; the 413 answer closes the connection
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJsonRpcError(res, status, message) {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json', ...(status === 413 ? { connection: 'close' } : {}) });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

function isInitialize(body) {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

/**
 * A request the demo server saw.
 * @typedef {{method: string, url: string, headers: object, sessionId: string|null, body?: unknown}} SeenRequest
 */

/**
 * Start the demo HTTP MCP server.
 * @returns {Promise<{ url: string, close(): Promise<void>, seen: Array<SeenRequest> }>}
 */
export async function startDemoHttpServer({ host = '127.0.0.1', port = 0, jwksUrl, issuer, audience } = {}) {
  const describeIdentity = makeIdentityDescriber(makeAssertionChecker({ jwksUrl, issuer, audience }));
  /** @type {Map<string, StreamableHTTPServerTransport>} */
  const sessions = new Map();
  const seen = [];

  function record(entry) {
    seen.push(entry);
    if (seen.length > SEEN_LIMIT) seen.splice(0, seen.length - SEEN_LIMIT);
  }

  async function openSession(req, res, body) {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    const server = createDemoServer({ name: 'demo-http-server', describeIdentity });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function handleMcp(req, res) {
    const sessionId = req.headers['mcp-session-id'] ?? null;
    let body;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      try {
        body = JSON.parse(raw);
      } catch {
        record({ method: req.method, url: req.url, headers: { ...req.headers }, sessionId, body: raw });
        return sendJsonRpcError(res, 400, 'Parse error: invalid JSON');
      }
    }
    record({ method: req.method, url: req.url, headers: { ...req.headers }, sessionId, body });

    if (sessionId) {
      const transport = sessions.get(sessionId);
      if (!transport) return sendJsonRpcError(res, 404, 'Session not found');
      return transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && isInitialize(body)) return openSession(req, res, body);
    return sendJsonRpcError(res, 400, 'Bad Request: no valid Mcp-Session-Id');
  }

  const httpServer = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://demo.invalid');
    if (pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"ok":true}');
    }
    if (pathname !== MCP_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) {
      res.writeHead(405, { allow: 'GET, POST, DELETE' });
      return void res.end();
    }
    handleMcp(req, res).catch((err) => sendJsonRpcError(res, err.status ?? 500, err.message));
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address();
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing;
  async function close() {
    closing ??= (async () => {
      const transports = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(transports.map((t) => t.close()));
      await new Promise((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    })();
    return closing;
  }

  return { url: `http://${urlHost}:${address.port}${MCP_PATH}`, close, seen };
}

async function main() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'jwks-url': { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
    },
  });
  const env = process.env;
  const demo = await startDemoHttpServer({
    host: values.host ?? env.DEMO_HOST ?? '127.0.0.1',
    port: Number(values.port ?? env.DEMO_PORT ?? 9101),
    jwksUrl: values['jwks-url'] ?? env.PROXY_JWKS_URL,
    issuer: values.issuer ?? env.PROXY_ISSUER,
    audience: values.audience ?? env.DEMO_AUDIENCE,
  });
  console.log(`demo-http-server listening on ${demo.url}`);
  const shutdown = () => demo.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (isMainModule(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
