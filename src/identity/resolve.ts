/**
 * Identity resolution: the first source that recognises the request wins. Sources are
 * tried in the identity order (docs/ARCHITECTURE.md, "Pipeline") (client certificate, API key, proxy JWT,
 * external token, session cookie);
 * a source that recognises a credential but finds it bad throws (401), it does not fall through.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from './principal.js';
import { inSpan } from '../observability/tracing.js';

export type IdentitySource = (req: FastifyRequest) => Promise<Principal | null> | Principal | null;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

async function identityPlugin(
  app: FastifyInstance,
  opts: { sources: IdentitySource[]; enrich?: (p: Principal) => Principal },
) {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', (req) =>
    inSpan(req, 'identity', async (span) => {
      for (const source of opts.sources) {
        const p = await source(req);
        if (p) {
          req.principal = opts.enrich ? opts.enrich(p) : p;
          span?.set({ 'mcp_proxy.identity.source': p.source });
          return;
        }
      }
      span?.set({ 'mcp_proxy.identity.source': 'anonymous' });
    }),
  );
}

export default fp(identityPlugin, { name: 'identity', dependencies: ['session'] });
