/**
 * The admin console (DESIGN.md §13): `/admin` (page) and `/admin/api/*` (JSON), for principals in
 * `admin.groups` only — anonymous: 401 for the API, a redirect to log in for the page; others: 403.
 * Cookie-authenticated writes need the session's `X-CSRF-Token` and a same-origin `Origin`. One
 * file per endpoint group beside this one; each action writes an audit line (AuditLog.adminAction).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import { requirePrincipal } from '../identity/challenge.js';
import type { AdminContext, AdminDeps } from './context.js';
import type { Principal } from '../identity/principal.js';
import { assertCsrf } from '../security/csrf.js';
import { adminClients } from './clients.js';
import { adminConnections } from './connections.js';
import { adminGrants } from './grants.js';
import { adminKeys } from './keys.js';
import { adminPage } from './page.js';
import { adminSessions } from './sessions.js';

const isAdmin = (p: Principal, groups: readonly string[]) => p.groups.some((g) => groups.includes(g));

export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const groups = deps.config.admin?.groups ?? [];
  const origin = new URL(deps.config.server.publicUrl).origin;
  const ctx: AdminContext = {
    ...deps,
    audited: (req, action, target, result, detail) =>
      deps.audit.adminAction({
        principal: req.principal!,
        action,
        target,
        result,
        detail: detail as Record<string, unknown> | undefined,
        reqId: req.id,
      }),
  };

  /** A write refused (not an admin, CSRF, Origin): audited with what it aimed at, then thrown. */
  const refused = (req: FastifyRequest, e: Error): Error => {
    deps.audit.adminAction({
      principal: req.principal!,
      action: req.method,
      target: req.url.split('?')[0]!.replace(/^\/admin\/api\//, ''),
      result: 'refused',
      detail: { code: (e as { code?: string }).code },
      reqId: req.id,
    });
    return e;
  };

  app.addHook('onRequest', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const api = req.url.startsWith('/admin/api/');
    if (!req.principal) {
      if (api) throw new Errors.UNAUTHENTICATED();
      if (!requirePrincipal(req, reply, deps.config.server.publicUrl)) return reply;
    }
    const p = req.principal!;
    if (!isAdmin(p, groups)) {
      const e = new Errors.FORBIDDEN('the admin console is for the groups in admin.groups');
      throw req.method === 'GET' || req.method === 'HEAD' ? e : refused(req, e);
    }
  });
  // Cookie-authenticated writes: the session's CSRF token and this proxy's own Origin (not merely an allowed one).
  app.addHook('preHandler', async (req) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.principal?.source !== 'session') return;
    if (req.headers.origin !== origin)
      throw refused(req, new Errors.ORIGIN_FORBIDDEN(JSON.stringify(req.headers.origin ?? null)));
    try {
      assertCsrf(req, req.session.get('user')?.csrf);
    } catch (e) {
      throw refused(req, e as Error);
    }
  });

  await app.register(adminPage, ctx);
  await app.register(adminClients, ctx);
  await app.register(adminGrants, ctx);
  await app.register(adminSessions, ctx);
  await app.register(adminConnections, ctx);
  await app.register(adminKeys, ctx);
  app.all('/admin/api/*', async () => {
    throw new Errors.NOT_FOUND();
  });
}
