/**
 * The authorization server's own browser session (oidc-provider's Session, cookie
 * `mcp_proxy_as_session`) never outlives or overrides the proxy's browser session:
 * - it is used only while the user logged in to the proxy in the same request is the user it
 *   remembers: otherwise it is destroyed before the provider loads it, so the provider asks
 *   for a login, and the interaction logs in whoever is logged in to the proxy or sends the
 *   browser to log in (interactions.ts). No code is ever issued for a user who is not the
 *   browser's proxy user;
 * - logging out of the proxy ends it too: its record is deleted and its cookie expired.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';

export const AS_COOKIE_NAMES = {
  session: 'mcp_proxy_as_session',
  interaction: 'mcp_proxy_as_interaction',
  resume: 'mcp_proxy_as_resume',
} as const;

/** The proxy's browser user of a request on its way to the provider. */
const browserUsers = new WeakMap<IncomingMessage, string>();

/**
 * Before a request reaches the provider: note who is logged in
 * to the proxy in this browser (a session, never a bearer).
 */
export function noteBrowserUser(req: FastifyRequest): void {
  if (req.principal?.source === 'session') browserUsers.set(req.raw, req.principal.sub);
}

/** Installs the rule above in front of every provider route (the provider's own Session model and cookies). */
export function bindSessionToProxyUser(provider: Provider): void {
  provider.use(async (ctx, next) => {
    const id = ctx.cookies.get(AS_COOKIE_NAMES.session, { signed: true });
    if (id) {
      const session = await provider.Session.find(id);
      if (session?.accountId !== undefined && session.accountId !== browserUsers.get(ctx.req)) await session.destroy();
    }
    await next();
  });
}

/**
 * Logout: the AS session of this browser ends (record deleted, cookie
 * expired). Its cookie is read as oidc-provider does, signature checked.
 */
export async function endAsSession(
  provider: Provider,
  req: FastifyRequest,
  reply: FastifyReply,
  secure: boolean,
): Promise<void> {
  const name = AS_COOKIE_NAMES.session;
  if (!req.cookies?.[name]) return;
  for (const cookie of [name, `${name}.sig`])
    void reply.clearCookie(cookie, { path: '/', httpOnly: true, sameSite: 'lax', secure });
  const id = provider.createContext(req.raw, reply.raw).cookies.get(name, { signed: true });
  // Store unreachable: the cookie is expired anyway, and the record no longer serves a browser
  // without the proxy's session (bindSessionToProxyUser).
  try {
    if (id) await (await provider.Session.find(id))?.destroy();
  } catch (e) {
    req.log.warn(
      { event: 'store.unavailable', reason: (e as Error).message },
      'the authorization server session record could not be deleted',
    );
  }
}
