/**
 * `GET /admin/api/sessions?user=<sub>`: a user's live browser sessions (recorded at login per
 * user, bounded, expiring with the session: session/logout.ts); `DELETE /admin/api/sessions/:id`
 * ends one as its own logout would — its cookie is refused at its next request, on every replica.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors.js';
import { sessionInfoKey, type SessionInfo } from '../session/logout.js';
import type { AdminContext } from './context.js';

const iso = (ms: number | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

export async function adminSessions(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { store, tokens, logout } = ctx;
  /** A session is live while its server-side record is (session/tokens.ts). */
  const live = async (id: string) => (await tokens.get(id)) !== undefined;

  app.get<{ Querystring: { user?: string } }>('/admin/api/sessions', async (req) => {
    const user = req.query.user;
    if (!user) throw new Errors.BAD_REQUEST('name whose sessions: ?user=<sub>');
    const ids = await logout.sessionsOf(user);
    const rows = await Promise.all(
      ids.map(async (id) => {
        if (!(await live(id))) return undefined;
        const info = await store.get<SessionInfo>(sessionInfoKey(id));
        return {
          id,
          user,
          createdAt: iso(info?.createdAt),
          expiresAt: iso(info?.expiresAt),
          userAgent: info?.userAgent ?? null,
          current: id === req.principal!.sessionId,
        };
      }),
    );
    return { sessions: rows.filter((r) => r !== undefined) };
  });

  app.delete<{ Params: { id: string } }>('/admin/api/sessions/:id', async (req) => {
    const id = req.params.id;
    const info = await store.get<SessionInfo>(sessionInfoKey(id));
    const found = await live(id);
    if (found) await logout.endSession(id);
    ctx.audited(req, 'session.end', id, found ? 'done' : 'not_found', info ? { user: info.sub } : undefined);
    if (!found) throw new Errors.NOT_FOUND();
    return { id, ended: true };
  });
}
