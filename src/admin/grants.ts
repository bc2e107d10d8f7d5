/**
 * `GET /admin/api/grants?user=<sub>` (or `?client=<clientId>`): the grants (consents) the
 * authorization server holds; `DELETE /admin/api/grants/:id` deletes one with its refresh tokens
 * and codes (its access tokens are refused from then on).
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors.js';
import type { AdminContext } from './context.js';

export async function adminGrants(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  app.get<{ Querystring: { user?: string; client?: string } }>('/admin/api/grants', async (req) => {
    const { user, client } = req.query;
    if (!user && !client) throw new Errors.BAD_REQUEST('name whose grants: ?user=<sub> or ?client=<clientId>');
    return { grants: ctx.registry ? await ctx.registry.grants({ user, clientId: client }) : [] };
  });

  app.delete<{ Params: { id: string } }>('/admin/api/grants/:id', async (req) => {
    const id = req.params.id;
    const deleted = ctx.registry ? await ctx.registry.deleteGrant(id) : false;
    ctx.audited(req, 'grant.delete', id, deleted ? 'done' : 'not_found');
    if (!deleted) throw new Errors.NOT_FOUND();
    return { id, deleted: true };
  });
}
