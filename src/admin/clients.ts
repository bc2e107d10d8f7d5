/**
 * `GET /admin/api/clients`: the OAuth clients of the authorization server — registered ones (DCR),
 * metadata-document ones holding grants, those in `authorizationServer.clients`;
 * `DELETE /admin/api/clients/:clientId` deletes a client's registration and every grant it holds
 * (its tokens are refused from then on).
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors.js';
import type { AdminContext } from './context.js';

const iso = (s: number | undefined) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : null);

export async function adminClients(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  app.get('/admin/api/clients', async () => {
    const configured = ctx.config.authorizationServer.clients.map((c) => ({
      id: c.clientId,
      kind: 'configured' as const,
      name: null,
      redirectUris: [] as string[],
      grantTypes: ['client_credentials'],
      createdAt: null,
    }));
    const registered = ctx.registry
      ? (await ctx.registry.clients()).map(({ kind, client: c }) => ({
          id: c.client_id,
          kind,
          name: c.client_name ?? null,
          redirectUris: c.redirect_uris ?? [],
          grantTypes: c.grant_types ?? [],
          createdAt: iso(c.client_id_issued_at),
        }))
      : [];
    return { clients: [...configured, ...registered] };
  });

  app.delete<{ Params: { clientId: string } }>('/admin/api/clients/:clientId', async (req) => {
    const id = req.params.clientId;
    if (ctx.config.authorizationServer.clients.some((c) => c.clientId === id))
      throw new Errors.CONFLICT(
        `client "${id}" is configured (authorizationServer.clients): remove it from the config`,
      );
    const out = ctx.registry ? await ctx.registry.deleteClient(id) : { deleted: false, grants: 0 };
    const found = out.deleted || out.grants > 0;
    ctx.audited(req, 'client.delete', id, found ? 'done' : 'not_found', { grants: out.grants });
    if (!found) throw new Errors.NOT_FOUND();
    // `deleted`: a stored registration went; a metadata-document client has none, only grants.
    return { id, deleted: out.deleted, grants: out.grants };
  });
}
