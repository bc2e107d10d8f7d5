/**
 * OpenID Connect Back-Channel Logout 1.0: the IdP POSTs a signed `logout_token` to
 * `/oauth/backchannel-logout` when a user signs out there. The token is checked with jose
 * against the IdP's JWKS (asymmetric algorithms only; iss, aud = our client id, iat within
 * 10 minutes, the back-channel event as a JSON object, `sub` or `sid`, no `nonce`, not typed as
 * another kind of JWT, a `jti` never seen before);
 * then the user is logged out everywhere (Logout.endUser): browser sessions, the grants of
 * their MCP clients, their streams and stdio sessions, their connections to `upstream: oauth` backends.
 */
import type { FastifyInstance } from 'fastify';
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import type { Logout } from '../session/logout.js';
import type { Store } from '../store/store.js';
import type { UpstreamClient } from './client.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_AGE_S = 600;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const BACKCHANNEL_LOGOUT_PATH = '/oauth/backchannel-logout';

export function backchannelLogoutRoute(
  app: FastifyInstance,
  opts: { client: UpstreamClient; logout: Logout; store: Store },
): void {
  let jwks: { uri: string; set: ReturnType<typeof createRemoteJWKSet> } | undefined;

  async function verify(token: string): Promise<JWTPayload> {
    const meta = (await opts.client.get()).serverMetadata();
    if (!meta.jwks_uri) throw new Error('the identity provider publishes no jwks_uri');
    if (jwks?.uri !== meta.jwks_uri) {
      // The IdP client's fetch (it trusts `tls.ca`).
      const f = opts.client.fetch;
      jwks = { uri: meta.jwks_uri, set: createRemoteJWKSet(new URL(meta.jwks_uri), f ? { [customFetch]: f } : {}) };
    }
    const { payload, protectedHeader } = await jwtVerify(token, jwks.set, {
      issuer: meta.issuer,
      audience: opts.client.settings.clientId,
      algorithms: ALGORITHMS,
      maxTokenAge: MAX_AGE_S,
    });
    // Explicitly typed as another kind of JWT (an access token, `at+jwt`): not a logout token.
    const typ = protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
    if (typ?.endsWith('+jwt') && typ !== 'logout+jwt')
      throw new Error(`typ ${protectedHeader.typ} is not a logout token's`);
    // `events` and its back-channel member are JSON objects (null and arrays are not).
    if (!isObject(payload.events) || !isObject(payload.events[EVENT]))
      throw new Error('not a back-channel logout token (events)');
    if ('nonce' in payload) throw new Error('a logout token carries no nonce');
    if (typeof payload.sub !== 'string' && typeof payload.sid !== 'string') throw new Error('neither sub nor sid');
    if (typeof payload.jti !== 'string') throw new Error('no jti');
    return payload;
  }

  app.post<{ Body: { logout_token?: unknown } | undefined }>(BACKCHANNEL_LOGOUT_PATH, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const token = req.body?.logout_token;
    const refuse = (why: string) => {
      req.log.warn({ event: 'logout.backchannel_refused', reason: why }, 'back-channel logout refused');
      return reply.code(400).send({ error: 'invalid_request', error_description: why });
    };
    if (typeof token !== 'string' || !token) return refuse('logout_token is required');
    let claims: JWTPayload;
    try {
      claims = await verify(token);
    } catch (e) {
      return refuse(`invalid logout_token: ${(e as Error).message}`);
    }
    // Atomic: of two deliveries of one token at once, one is the replay.
    if (!(await opts.store.claim(`bcl-jti:${claims.jti}`, MAX_AGE_S * 2000)))
      return refuse('logout_token already used');
    const issuer = opts.client.settings.issuer;
    const sub =
      typeof claims.sid === 'string'
        ? ((await opts.logout.byIdpSession(issuer, claims.sid))?.sub ?? (claims.sub as string | undefined))
        : (claims.sub as string);
    if (sub) await opts.logout.endUser(sub, 'back-channel logout from the identity provider');
    return reply.code(200).send();
  });
}
