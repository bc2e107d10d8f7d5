/**
 * The first stage of the pipeline: security headers, DNS-rebinding protection (Host must be
 * a loopback name when bound to loopback), and the Origin check for MCP endpoints and
 * cookie-authenticated writes.
 */
import fp from 'fastify-plugin';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { isLoopbackHost } from '../lib/net.js';
import { isApiPath, isMcpPath } from '../lib/paths.js';

export function allowedOrigins(config: Config): Set<string> {
  return new Set([
    new URL(config.server.publicUrl).origin,
    ...config.server.allowedOrigins.map((o) => o.replace(/\/+$/, '')),
  ]);
}

function needsOriginCheck(req: FastifyRequest, path: string, cookieName: string): boolean {
  if (isMcpPath(path) || isApiPath(path)) return true;
  const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
  return unsafe && (req.headers.cookie ?? '').includes(`${cookieName}=`);
}

/**
 * The path of a request target and, for the absolute-form (`POST http://host/mcp HTTP/1.1`),
 * its authority: the router serves such a request at its path, and RFC 9112 §3.2.2 makes the
 * target's host the request's host (the Host header is then ignored). Checked as such, else
 * a foreign Host or Origin would pass with the target written out in full.
 */
function requestTarget(url: string): { path: string; host?: string } {
  if (url.startsWith('/')) return { path: url };
  const u = URL.parse(url);
  return u ? { path: `${u.pathname}${u.search}`, host: u.host } : { path: url };
}

function hostnameOf(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

/**
 * The security headers helmet sets, computed once: our helmet options have no per-request
 * part (no CSP nonces), and @fastify/helmet would rebuild helmet on every request.
 */
export function securityHeaders(options: HelmetOptions): ReadonlyArray<readonly [string, string]> {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (k: string, v: string) => headers.set(k, v),
    removeHeader: (k: string) => headers.delete(k),
  };
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (e?: unknown) => {
    if (e) throw e;
  });
  return [...headers];
}

async function securityPlugin(app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts;
  const https = config.server.publicUrl.startsWith('https:');
  const headers = securityHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'", "'unsafe-inline'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'form-action': ["'self'", 'https:', 'http:'],
        'frame-ancestors': ["'none'"],
        'base-uri': ["'self'"],
        'object-src': ["'none'"],
      },
    },
    hsts: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // 'same-origin': with 'no-referrer' browsers send `Origin: null` on our own form POSTs (logout).
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  });

  const origins = allowedOrigins(config);
  const loopbackBound = isLoopbackHost(config.server.host);
  // A callback hook, not async: no promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    // On the raw response (as @fastify/helmet does), so hijacked routes carry them too.
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    const target = requestTarget(req.url);
    if (loopbackBound) {
      const host = target.host ?? req.headers.host ?? '';
      if (!isLoopbackHost(hostnameOf(host))) return done(new Errors.HOST_FORBIDDEN(JSON.stringify(host.slice(0, 100))));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && needsOriginCheck(req, target.path, config.session.cookieName) && !origins.has(origin)) {
      req.log.warn({ event: 'origin.refused', origin: origin.slice(0, 200) }, 'request from a foreign origin refused');
      return done(new Errors.ORIGIN_FORBIDDEN(JSON.stringify(origin.slice(0, 100))));
    }
    done();
  });
}

export default fp(securityPlugin, { name: 'security' });
