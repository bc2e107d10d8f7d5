/**
 * The browser side of connecting `upstream: {kind: oauth}` backends: `GET /connect/:backend`
 * (a logged-in browser; else through `/oauth/login` and back; a connect link made for another
 * user is refused 403 before the browser leaves the proxy), `GET /connect/callback`, and the
 * Client ID Metadata Document at `GET /oauth/client-metadata.json`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { principalKey } from '../identity/principal.js';
import { safeEqual } from '../lib/crypto.js';
import type { Live } from '../live.js';
import { safeReturnTo } from '../oidc/return-to.js';
import { backendDecision } from '../policy/engine.js';
import type { ConnectRecords } from '../upstream/connect-records.js';
import { CLIENT_METADATA_PATH, clientMetadataDocument, CONNECT_CALLBACK_PATH } from '../upstream/oauth-client.js';
import type { CallbackQuery, ConnectFlow } from '../upstream/oauth-connect.js';

export interface ConnectRouteOptions {
  config: Config;
  live: Live;
  flow: ConnectFlow;
  records: ConnectRecords;
}

export async function connectRoutes(app: FastifyInstance, opts: ConnectRouteOptions): Promise<void> {
  const { config, live, flow, records } = opts;
  const publicUrl = new URL(config.server.publicUrl);
  const document = clientMetadataDocument(config.server.publicUrl);

  app.get(CLIENT_METADATA_PATH, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return document;
  });

  /** The browser's logged-in user, or undefined (API keys and bearer tokens are not a browser). */
  const browserUser = (req: FastifyRequest) => (req.principal?.source === 'session' ? req.principal : undefined);

  app.get<{ Querystring: CallbackQuery }>(CONNECT_CALLBACK_PATH, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const p = browserUser(req);
    if (!p) throw new Errors.FORBIDDEN('log in to the proxy in this browser before connecting a backend');
    const { returnTo } = await flow.finish(req.query, principalKey(p), (name) => {
      const b = live.current.backends.get(name).config;
      if (!backendDecision(p, b).allow) throw new Errors.FORBIDDEN(`you may not use backend "${name}"`);
      return b;
    });
    return reply.redirect(returnTo, 302);
  });

  app.get<{ Params: { backend: string }; Querystring: { returnTo?: string; elicitation?: string } }>(
    '/connect/:backend',
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      // The session cookie lives on the public origin: go there first.
      if (req.host !== publicUrl.host) return reply.redirect(`${publicUrl.origin}${req.url}`, 302);
      const p = browserUser(req);
      if (!p) return reply.redirect(`/oauth/login?returnTo=${encodeURIComponent(req.url)}`, 302);
      const user = principalKey(p);
      const name = req.params.backend;
      const { elicitation } = req.query;
      if (elicitation !== undefined) {
        const bound = await records.elicitation(elicitation);
        if (!bound) throw new Errors.BAD_REQUEST(`this connect link has expired: open /connect/${name} instead`);
        if (!safeEqual(bound.user, user) || bound.backend !== name)
          throw new Errors.FORBIDDEN('this connect link was made for another user (or backend): ask for a new one');
      }
      const backend = live.current.backends.get(name).config;
      if (!backendDecision(p, backend).allow) throw new Errors.FORBIDDEN(`you may not use backend "${name}"`);
      if (backend.upstream?.kind !== 'oauth')
        throw new Errors.BAD_REQUEST(`backend "${name}" has no account to connect (it is not upstream kind oauth)`);
      return reply.redirect(await flow.start(backend, user, safeReturnTo(req.query.returnTo)), 302);
    },
  );
}
