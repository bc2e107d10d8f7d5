/** Seal a session cookie with any key, as the proxy would (or as an attacker with another key would). */
import Fastify from 'fastify';
import secureSession from '@fastify/secure-session';
import { sessionRecordKey } from '../../src/session/tokens.js';
import type { Store } from '../../src/store/store.js';

export async function sealSessionCookie(keyB64: string, user: Record<string, unknown>): Promise<string> {
  const app = Fastify();
  await app.register(secureSession, { key: Buffer.from(keyB64, 'base64'), cookieName: 'mcp_proxy_session' });
  await app.ready();
  const cookie = app.encodeSecureSession(app.createSecureSession({ user }));
  await app.close();
  return cookie;
}

export function sessionUser(sub: string, extra: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    sid: `sid-${sub}`,
    sub,
    email: `${sub}@example.com`,
    groups: [],
    iat: now,
    seen: now,
    exp: now + 3600_000,
    csrf: 'csrf',
    ...extra,
  };
}

/**
 * The server-side record a sealed cookie needs to be a session (a login writes it; a sealed cookie alone is refused).
 */
export function recordSession(store: Store, user: { sid: string }): Promise<void> {
  return store.set(sessionRecordKey(user.sid), {}, 3600_000);
}
