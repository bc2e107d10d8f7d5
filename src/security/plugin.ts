/**
 * The first stage of the pipeline: security headers, DNS-rebinding protection (Host must be
 * a loopback name when bound to loopback), and the Origin check for MCP endpoints and
 * cookie-authenticated writes.
 */
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { isLoopbackHost } from '../lib/net.js';
import { isApiPath, isMcpPath } from '../lib/paths.js';

export function allowedOrigins(config: Config): Set<string> {
  return new Set([new URL(config.server.publicUrl).origin, ...config.server.allowedOrigins.map((o) => o.replace(/\/+$/, ''))]);
}

function needsOriginCheck(req: FastifyRequest, cookieName: string): boolean {
  if (isMcpPath(req.url) || isApiPath(req.url)) return true;
  const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
  return unsafe && (req.headers.cookie ?? '').includes(`${cookieName}=`);
}

function hostnameOf(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

async function securityPlugin(app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts;
  const https = config.server.publicUrl.startsWith('https:');
  await app.register(helmet, {
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
  app.addHook('onRequest', async (req) => {
    if (loopbackBound) {
      const host = req.headers.host ?? '';
      if (!isLoopbackHost(hostnameOf(host))) throw new Errors.HOST_FORBIDDEN(JSON.stringify(host.slice(0, 100)));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && needsOriginCheck(req, config.session.cookieName) && !origins.has(origin)) {
      req.log.warn({ event: 'origin.refused', origin: origin.slice(0, 200) }, 'request from a foreign origin refused');
      throw new Errors.ORIGIN_FORBIDDEN(JSON.stringify(origin.slice(0, 100)));
    }
  });
}

export default fp(securityPlugin, { name: 'security' });
