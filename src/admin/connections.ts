/**
 * `GET /admin/api/connections?user=<id>`: a user's connections to `upstream: oauth` backends
 * (`user` is the principal id: the login's `sub`); `DELETE /admin/api/connections/:user/:backend`
 * forgets one and revokes it upstream, as the user's own `DELETE /api/connections/:backend` does.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors.js';
import type { AdminContext } from './context.js';

const iso = (ms: number | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

export async function adminConnections(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const oauthBackends = () =>
    ctx.live.current.backends
      .all()
      .map((b) => b.config)
      .filter((b) => b.upstream?.kind === 'oauth');

  app.get<{ Querystring: { user?: string } }>('/admin/api/connections', async (req) => {
    const user = req.query.user;
    if (!user) throw new Errors.BAD_REQUEST('name whose connections: ?user=<sub>');
    const held = await ctx.connections.list(
      user,
      oauthBackends().map((b) => b.name),
    );
    return {
      connections: held.flatMap(({ backend, connection: c }) =>
        c
          ? [
              {
                id: `${user}/${backend}`,
                user,
                backend,
                scopes: c.scopes,
                issuer: c.issuer,
                connectedAt: iso(c.connectedAt),
                expiresAt: iso(c.expiresAt),
              },
            ]
          : [],
      ),
    };
  });

  app.delete<{ Params: { user: string; backend: string } }>('/admin/api/connections/:user/:backend', async (req) => {
    const { user, backend } = req.params;
    const b = ctx.live.current.backends.get(backend).config; // 404 for an unknown backend
    if (b.upstream?.kind !== 'oauth')
      throw new Errors.BAD_REQUEST(`backend "${b.name}" has no connections (it is not upstream kind oauth)`);
    const removed = await ctx.oauth.disconnect(b, user);
    ctx.audited(req, 'connection.delete', `${user}/${backend}`, removed ? 'done' : 'not_found');
    if (!removed) throw new Errors.NOT_FOUND();
    return { id: `${user}/${backend}`, removed: true };
  });
}
