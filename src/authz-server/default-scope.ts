/**
 * An authorization request with no `scope`, or an empty one (ChatGPT, the MCP conformance suite's
 * authorization-code-grant), asks for the resource's default scope `mcp` (DESIGN §9, §11): without it
 * oidc-provider grants nothing and answers `access_denied`.
 */
import type Provider from 'oidc-provider';
import { MCP_SCOPE } from './provider.js';

export function defaultScopeOnAuthorize(provider: Provider): void {
  const path = provider.pathFor('authorization');
  provider.use(async (ctx, next) => {
    // GET only: a POSTed request's body is parsed inside the provider (MCP clients navigate with GET).
    if (ctx.method === 'GET' && ctx.path === path) {
      const scope = ctx.query.scope;
      if (scope === undefined || (typeof scope === 'string' && scope.trim() === ''))
        ctx.query = { ...ctx.query, scope: MCP_SCOPE };
    }
    await next();
  });
}
