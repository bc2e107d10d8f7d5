/**
 * Browser login at the upstream IdP: `/oauth/login`, `/oauth/callback`, `POST /oauth/logout`,
 * `/oauth/status`. State, nonce and PKCE live in a short-lived encrypted cookie scoped to the
 * callback; a new session (new id, new CSRF token) is minted at every login.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import type { Config } from '../config/load.js';
import type { Live } from '../live.js';
import { Errors } from '../errors.js';
import { randomId } from '../lib/crypto.js';
import { tenantClaims } from '../identity/tenant.js';
import type { UserSessionData } from '../session/data.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Logout } from '../session/logout.js';
import type { Store } from '../store/store.js';
import type { LoginFailure, Metrics } from '../observability/metrics.js';
import { backchannelLogoutRoute } from './backchannel.js';
import { assertCsrf } from '../security/csrf.js';
import type { UpstreamClient } from './client.js';
import { LoginRefused, type Identity } from './providers/index.js';
import { safeReturnTo } from './return-to.js';
import { errorCause } from '../lib/error-cause.js';

/** Browsers keep cookies up to 4096 bytes (name + value); leave room for the attributes. */
const MAX_COOKIE_BYTES = 3900;

export interface OidcRouteOptions {
  config: Config;
  client?: UpstreamClient;
  tokens: SessionTokens;
  logout: Logout;
  store: Store;
  metrics?: Metrics;
  /** The live state (tenants are read from it at login). */
  live: Live;
  /** Ends the other sessions this browser holds with the proxy (the authorization server's). */
  endBrowserSessions?(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Whether an MCP client's grant still holds this session's upstream login (then logout leaves it alone). */
  upstreamLoginKept?(sessionId: string): Promise<boolean>;
}

export async function oidcRoutes(app: FastifyInstance, opts: OidcRouteOptions): Promise<void> {
  const { config, client, tokens, logout } = opts;
  const publicUrl = new URL(config.server.publicUrl);
  await app.register(formbody, { bodyLimit: 16 * 1024 });

  /** A login that failed at the callback: counted by reason, then thrown. */
  const failed = (reason: LoginFailure, e: Error): Error => {
    opts.metrics?.loginFailed(reason);
    return e;
  };

  const upstream = (): UpstreamClient => {
    if (!client) throw new Errors.NOT_IMPLEMENTED('browser login (no "oidc" section is configured)');
    return client;
  };

  app.get<{ Querystring: { returnTo?: string } }>('/oauth/login', async (req, reply) => {
    const returnTo = safeReturnTo(req.query.returnTo);
    // The login cookie must be set on the origin the IdP will send the browser back to.
    if (req.host !== publicUrl.host)
      return reply.redirect(`${publicUrl.origin}/oauth/login?returnTo=${encodeURIComponent(returnTo)}`, 302);
    const tx = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo,
      iat: Date.now(),
    };
    const url = await upstream().authorizationUrl(tx);
    req.loginTx.set('tx', tx);
    return reply.header('cache-control', 'no-store').redirect(url, 302);
  });

  app.get('/oauth/callback', async (req, reply) => {
    const tx = req.loginTx.get('tx');
    req.loginTx.delete(); // single use: a replayed callback finds no transaction
    if (!tx)
      throw failed(
        'no_transaction',
        new Errors.LOGIN_FAILED(
          'no login in progress (it expired or was already completed): start again at /oauth/login',
        ),
      );
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const params = new URLSearchParams(query);
    if (params.has('error'))
      throw failed('idp_error', new Errors.LOGIN_FAILED(`the identity provider answered "${params.get('error')}"`));
    let result: Awaited<ReturnType<UpstreamClient['finishLogin']>>;
    try {
      result = await upstream().finishLogin(query, tx);
    } catch (e) {
      if ((e as { code?: string }).code === 'IDP_UNAVAILABLE') throw failed('idp_unavailable', e as Error);
      if (e instanceof LoginRefused) {
        req.log.warn({ event: 'login.refused', reason: e.message }, 'login refused by the IdP preset');
        throw failed('not_allowed', new Errors.LOGIN_REFUSED(e.message));
      }
      req.log.warn({ event: 'login.failed', reason: errorCause(e) }, 'login callback refused');
      const stateMismatch =
        (e as { code?: string }).code === 'OAUTH_INVALID_RESPONSE' && /"state"/.test((e as Error).message);
      throw failed(
        stateMismatch ? 'state_mismatch' : 'invalid_callback',
        new Errors.LOGIN_FAILED(
          (e as { code?: string }).code === 'OAUTH_INVALID_RESPONSE'
            ? 'invalid response from the identity provider'
            : oauthErrorText(e as Error),
        ),
      );
    }
    const user = newSession(result.identity, result.claims, config, opts.live.current.tenants);
    req.session.set('user', user);
    // Tokens stay server-side, but an identity with hundreds of groups can still overflow a cookie.
    const size = req.server.encodeSecureSession(req.session).length + config.session.cookieName.length;
    if (size > MAX_COOKIE_BYTES) {
      req.session.delete();
      req.log.warn(
        { event: 'login.cookie_too_large', sub: user.sub, groups: user.groups.length, bytes: size },
        'session would not fit a cookie',
      );
      throw failed(
        'cookie_too_large',
        new Errors.LOGIN_FAILED(
          `your identity (${user.groups.length} groups) is too large for a session cookie: filter the groups ` +
            'claim at the identity provider',
        ),
      );
    }
    await tokens.save(user.sid, result.tokens);
    await logout.remember(
      user.sub,
      user.sid,
      {
        issuer: config.oidc!.issuer,
        sid: typeof result.claims.sid === 'string' ? result.claims.sid : undefined,
      },
      req.headers['user-agent'],
    );
    req.log.info({ event: 'login', sub: user.sub }, 'user logged in');
    opts.metrics?.loginSucceeded();
    return reply.header('cache-control', 'no-store').redirect(tx.returnTo, 302);
  });

  if (client) backchannelLogoutRoute(app, { client, logout, store: opts.store });

  app.get('/oauth/logout', async (_req, reply) => {
    reply.header('allow', 'POST');
    throw new Errors.METHOD_NOT_ALLOWED('GET (log out with a POST carrying the CSRF token)');
  });

  app.post<{ Body: { everywhere?: string } | undefined }>('/oauth/logout', async (req, reply) => {
    const user = req.session.get('user');
    if (!user) {
      await opts.endBrowserSessions?.(req, reply);
      return finish(req, reply, undefined);
    }
    assertCsrf(req, user.csrf);
    const held = await tokens.get(user.sid);
    // This browser session ends server-side (MCP sessions held for it and its streams too);
    // `everywhere`: every session of the user, and the grants their MCP clients hold.
    await logout.endSession(user.sid);
    if (['1', 'true', 'on', 'yes'].includes(String(req.body?.everywhere ?? '').toLowerCase()))
      await logout.endUser(user.sub, 'user asked');
    req.session.delete();
    await opts.endBrowserSessions?.(req, reply);
    req.log.info({ event: 'logout', sub: user.sub }, 'user logged out');
    // A grant of the authorization server that took this login over keeps it (upstream/grant-tokens.ts);
    // after "log out everywhere" no grant is left to.
    const kept = await opts.upstreamLoginKept?.(user.sid).catch(() => false);
    if (held?.refreshToken && !kept)
      await upstream()
        .revoke(held.refreshToken)
        .catch(() => undefined);
    const after = config.oidc?.postLogoutRedirectUri ?? `${publicUrl.origin}/`;
    const endSession = client ? await client.endSessionUrl(held?.idToken, after).catch(() => undefined) : undefined;
    return finish(req, reply, endSession);
  });

  app.get('/oauth/status', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const p = req.principal;
    if (!p) return { authenticated: false };
    const user = req.session.get('user');
    return {
      authenticated: true,
      user: { sub: p.sub, email: p.email ?? null, name: p.name ?? null, groups: p.groups, tenant: p.tenant ?? null },
      source: p.source,
      expiresAt: p.expiresAt ? new Date(p.expiresAt).toISOString() : null,
      ...(p.source === 'session' && user ? { csrfToken: user.csrf } : {}),
    };
  });
}

/** An OAuth error the token endpoint answered (openid-client's ResponseBodyError) names its `error` and description. */
function oauthErrorText(e: Error & { error?: unknown; error_description?: unknown }): string {
  if (typeof e.error !== 'string') return e.message;
  const detail = typeof e.error_description === 'string' ? `: ${e.error_description}` : '';
  return `the identity provider answered "${e.error}"${detail}`;
}

/** Browsers are redirected (to the IdP's logout when it has one); fetch/API callers get JSON. */
function finish(req: FastifyRequest, reply: FastifyReply, endSessionUrl: string | undefined) {
  reply.header('cache-control', 'no-store');
  if ((req.headers.accept ?? '').includes('application/json'))
    return reply.send({ loggedOut: true, endSessionUrl: endSessionUrl ?? null });
  return reply.redirect(endSessionUrl ?? '/', 303);
}

/** The identity comes from the IdP preset (src/oidc/providers/); the tenant may read any claim. */
function newSession(
  identity: Identity,
  claims: Record<string, unknown>,
  config: Config,
  tenants: Config['tenants'],
): UserSessionData {
  const now = Date.now();
  return {
    sid: randomId(),
    sub: identity.sub,
    email: identity.email,
    name: identity.name,
    groups: identity.groups,
    tenantClaims: tenantClaims(tenants, claims),
    iat: now,
    seen: now,
    exp: now + config.session.maxAge,
    csrf: randomId(),
  };
}
