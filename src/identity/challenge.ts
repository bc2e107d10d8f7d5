/**
 * What an anonymous request to a protected path gets: browsers are sent to log in,
 * API clients get 401 with the RFC 9728 pointer to the protected resource metadata.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MCP_SCOPE } from '../authz-server/provider.js';
import { Errors } from '../errors.js';
import type { Principal } from './principal.js';

/** The path part a resource is named by: `/mcp/tickets`, `/mcp`, without query or trailing slash. */
export function resourcePath(req: FastifyRequest): string {
  const path = req.url.split('?')[0]!.replace(/\/+$/, '');
  return path || '/';
}

export function resourceMetadataUrl(publicUrl: string, path: string): string {
  return `${publicUrl}/.well-known/oauth-protected-resource${path}`;
}

/**
 * `WWW-Authenticate: Bearer resource_metadata="…"` plus `extra`. 401s name `scope="mcp"`, the scope
 * every resource starts with: clients ask for it first (MCP scope selection, SEP-835) and step up on
 * a 403 `insufficient_scope`, instead of asking for every scope in `scopes_supported` up front.
 */
export function bearerChallenge(publicUrl: string, path: string, extra: Record<string, string> = {}): string {
  const params = { resource_metadata: resourceMetadataUrl(publicUrl, path), ...extra };
  return (
    'Bearer ' +
    Object.entries(params)
      .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`)
      .join(', ')
  );
}

/** The principal, or a thrown 401 / a redirect to the login page for browsers. */
export function requirePrincipal(req: FastifyRequest, reply: FastifyReply, publicUrl: string): Principal | undefined {
  if (req.principal) return req.principal;
  const accept = req.headers.accept ?? '';
  if (req.method === 'GET' && accept.includes('text/html')) {
    const returnTo = req.url.startsWith('/') && !req.url.startsWith('//') ? req.url : '/';
    void reply.redirect(`/oauth/login?returnTo=${encodeURIComponent(returnTo)}`, 302);
    return undefined;
  }
  const err = new Errors.UNAUTHENTICATED() as Error & { headers?: Record<string, string> };
  err.headers = { 'www-authenticate': bearerChallenge(publicUrl, resourcePath(req), { scope: MCP_SCOPE }) };
  throw err;
}
