/**
 * `GET /api/connections`: one entry per backend with `upstream` the caller may use,
 * `{backend, kind, connected, scopes, expiresAt}`; `DELETE /api/connections/:backend` forgets
 * the caller's oauth connection and revokes it upstream. Registered inside the /api plugin
 * (web/api.ts): its principal check and CSRF rule apply. `connected` means, per kind:
 * oauth — the user has connected their account (scopes granted, expiresAt of the access token);
 * tokenExchange — the proxy holds a token of this caller's browser login to exchange (a session);
 * clientCredentials — always true (the proxy's own identity, the same for everyone).
 */
import type { FastifyInstance } from 'fastify';
import type { BackendConfig } from '../config/schema.js';
import { Errors } from '../errors.js';
import { principalKey, type Principal } from '../identity/principal.js';
import type { Live } from '../live.js';
import { backendDecision } from '../policy/engine.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Connections } from '../upstream/connections.js';
import type { OAuthTokens } from '../upstream/oauth-tokens.js';

export interface ConnectionsApiOptions {
  live: Live;
  connections: Connections;
  oauth: Pick<OAuthTokens, 'disconnect'>;
  tokens: SessionTokens;
}

export interface ConnectionEntry {
  backend: string;
  kind: 'oauth' | 'tokenExchange' | 'clientCredentials';
  connected: boolean;
  scopes: string[];
  /** ISO 8601, or null when unknown or not applicable. */
  expiresAt: string | null;
}

/** API keys and client certificates belong to no browser: they never hold a connection. */
const noBrowser = (p: Principal) => p.source === 'apikey' || p.source === 'clientCertificate';

export async function connectionsApi(app: FastifyInstance, opts: ConnectionsApiOptions): Promise<void> {
  const { live, connections, oauth, tokens } = opts;

  async function entry(p: Principal, b: BackendConfig): Promise<ConnectionEntry> {
    const u = b.upstream!;
    if (u.kind === 'oauth') {
      const c = noBrowser(p) ? undefined : await connections.get(principalKey(p), b.name);
      const expiresAt = c?.expiresAt === undefined ? null : new Date(c.expiresAt).toISOString();
      return { backend: b.name, kind: u.kind, connected: !!c, scopes: c?.scopes ?? [], expiresAt };
    }
    let connected = true;
    if (u.kind === 'tokenExchange') {
      const t = p.source === 'session' && p.sessionId ? await tokens.current(p.sessionId) : null;
      connected = !!(u.subjectToken === 'id_token' ? t?.idToken : t?.accessToken);
    }
    return { backend: b.name, kind: u.kind, connected, scopes: [...u.scopes], expiresAt: null };
  }

  app.get('/api/connections', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const p = req.principal!;
    const withUpstream = live.current.backends
      .all()
      .map((b) => b.config)
      .filter((b) => b.upstream && backendDecision(p, b).allow);
    return { connections: await Promise.all(withUpstream.map((b) => entry(p, b))) };
  });

  app.delete<{ Params: { backend: string } }>('/api/connections/:backend', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const p = req.principal!;
    const b = live.current.backends.get(req.params.backend).config;
    if (!backendDecision(p, b).allow) throw new Errors.FORBIDDEN(`you may not use backend "${b.name}"`);
    if (b.upstream?.kind !== 'oauth')
      throw new Errors.BAD_REQUEST(`backend "${b.name}" has no connection to forget (it is not upstream kind oauth)`);
    const removed = noBrowser(p) ? false : await oauth.disconnect(b, principalKey(p));
    return { backend: b.name, connected: false, removed };
  });
}
