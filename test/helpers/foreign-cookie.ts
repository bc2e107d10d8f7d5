/** A session cookie sealed with a key the proxy does not have. */
import Fastify from 'fastify';
import secureSession from '@fastify/secure-session';

export async function fastify(keyB64: string, user: Record<string, unknown>): Promise<string> {
  const app = Fastify();
  await app.register(secureSession, { key: Buffer.from(keyB64, 'base64'), cookieName: 'mcp_proxy_session' });
  await app.ready();
  const cookie = app.encodeSecureSession(app.createSecureSession({ user }));
  await app.close();
  return cookie;
}
