/**
 * The browser session as an identity source: decodes the encrypted cookie (done by
 * secure-session), enforces absolute and idle expiry, requires the session's server-side
 * record (session/tokens.ts), touches `seen` often enough for idleTimeout (a quarter of it, at
 * most once a minute), and ends the session when the IdP refuses to refresh its tokens. The
 * tenant is computed from the live configuration at every request, from what the cookie kept.
 */
import type { FastifyRequest } from 'fastify';
import type { UserSessionData } from '../session/data.js';
import type { SessionTokens } from '../session/tokens.js';
import { makePrincipal, type Principal } from './principal.js';
import { tenantFor, type TenantConfig } from './tenant.js';

export interface SessionSourceOptions {
  idleMs: number;
  tokens: SessionTokens;
  /** The live `tenants` config (a reload swaps it). */
  tenants?: () => TenantConfig | undefined;
  now?: () => number;
}

/** How often `seen` is rewritten: often enough that an active session never looks idle. */
export const touchEveryMs = (idleMs: number) => Math.max(1000, Math.min(60_000, Math.floor(idleMs / 4)));

export function sessionToPrincipal(u: UserSessionData, tenants?: TenantConfig): Principal {
  const tenant = tenantFor(tenants, u.email, u.tenantClaims);
  return makePrincipal({
    sub: u.sub,
    email: u.email,
    name: u.name,
    groups: u.groups,
    tenant,
    source: 'session',
    expiresAt: u.exp,
    sessionId: u.sid,
  });
}

export function sessionSource(opts: SessionSourceOptions) {
  const now = opts.now ?? Date.now;
  const touchEvery = touchEveryMs(opts.idleMs);
  return async function fromSession(req: FastifyRequest): Promise<Principal | null> {
    const user = req.session?.get('user');
    if (!user || typeof user.sub !== 'string') return null;
    const t = now();
    if (t >= user.exp || t - user.seen >= opts.idleMs) {
      req.log.info({ event: 'session.expired', idle: t < user.exp }, 'session expired');
      await opts.tokens.end(user.sid).catch(() => undefined);
      req.session.delete();
      return null;
    }
    // While the store is down, a session this replica confirmed stays valid (its upstream
    // tokens cannot be refreshed, a logout elsewhere is not seen); no other is admitted, and
    // its cookie is kept for when the store is back.
    let tokens: Awaited<ReturnType<SessionTokens['current']>>;
    try {
      tokens = await opts.tokens.current(user.sid);
    } catch (e) {
      req.log.warn(
        { event: 'store.unavailable', reason: (e as Error).message },
        'store unreachable: a session this replica never confirmed is not admitted',
      );
      return null;
    }
    if (tokens === null) {
      req.session.delete();
      return null;
    }
    if (t - user.seen >= touchEvery) req.session.set('user', { ...user, seen: t });
    return sessionToPrincipal(user, opts.tenants?.());
  };
}
