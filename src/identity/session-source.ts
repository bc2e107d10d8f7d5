/**
 * The browser session as an identity source: decodes the encrypted cookie (done by
 * secure-session), enforces absolute and idle expiry, touches `seen` at most once a minute,
 * and ends the session when the IdP refuses to refresh its tokens.
 */
import type { FastifyRequest } from 'fastify';
import type { UserSessionData } from '../session/data.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Principal } from './principal.js';

const TOUCH_EVERY_MS = 60_000;

export interface SessionSourceOptions {
  idleMs: number;
  tokens: SessionTokens;
  now?: () => number;
}

export function sessionToPrincipal(u: UserSessionData): Principal {
  return { sub: u.sub, email: u.email, name: u.name, groups: u.groups, tenant: u.tenant, scopes: [], source: 'session', expiresAt: u.exp, sessionId: u.sid };
}

export function sessionSource(opts: SessionSourceOptions) {
  const now = opts.now ?? Date.now;
  return async function fromSession(req: FastifyRequest): Promise<Principal | null> {
    const user = req.session?.get('user');
    if (!user || typeof user.sub !== 'string') return null;
    const t = now();
    if (t >= user.exp || t - user.seen >= opts.idleMs) {
      req.log.info({ event: 'session.expired', idle: t < user.exp }, 'session expired');
      await opts.tokens.drop(user.sid);
      req.session.delete();
      return null;
    }
    // The cookie is self-contained: while the store is down the session stays valid (its
    // upstream tokens cannot be refreshed, a server-side logout cannot be seen).
    const tokens = await opts.tokens.current(user.sid).catch((e: Error) => {
      req.log.warn({ event: 'store.unavailable', reason: e.message }, 'store unreachable: session accepted from its cookie alone');
      return undefined;
    });
    if (tokens === null) {
      req.session.delete();
      return null;
    }
    if (t - user.seen >= TOUCH_EVERY_MS) req.session.set('user', { ...user, seen: t });
    return sessionToPrincipal(user);
  };
}
