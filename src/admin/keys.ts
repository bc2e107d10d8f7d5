/**
 * `GET /admin/api/keys`: the configured credentials that are principals — API keys and client
 * certificates — with who they are and when each was last used; never a secret (a certificate's
 * fingerprint is public). Read from the live configuration, so a reload shows at once.
 */
import type { FastifyInstance } from 'fastify';
import type { CredentialKind } from '../identity/last-used.js';
import type { AdminContext } from './context.js';

export async function adminKeys(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const lastUsed = async (kind: CredentialKind, name: string) => {
    const at = await ctx.lastUsed.get(kind, name).catch(() => undefined);
    return at === undefined ? null : new Date(at).toISOString();
  };

  app.get('/admin/api/keys', async () => {
    const config = ctx.live.current.config;
    const apiKeys = config.apiKeys.map(async (k) => ({
      id: `apikey:${k.name}`,
      kind: 'apiKey' as const,
      name: k.name,
      subject: k.subject,
      groups: k.groups,
      scopes: k.scopes,
      lastUsed: await lastUsed('apikey', k.name),
    }));
    const certs = config.clientCertificates.map(async (c) => ({
      id: `certificate:${c.name}`,
      kind: 'clientCertificate' as const,
      name: c.name,
      subject: c.subject,
      groups: c.groups,
      scopes: c.scopes,
      sha256: c.sha256,
      lastUsed: await lastUsed('certificate', c.name),
    }));
    return { keys: await Promise.all([...apiKeys, ...certs]) };
  });
}
