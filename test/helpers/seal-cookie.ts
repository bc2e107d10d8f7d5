/** Seal a session cookie with any key, as the proxy would (or as an attacker with another key would). */
import Fastify from 'fastify';
import secureSession from '@fastify/secure-session';

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
  return { sid: `sid-${sub}`, sub, email: `${sub}@example.com`, groups: [], iat: now, seen: now, exp: now + 3600_000, csrf: 'csrf', ...extra };
}
