/**
 * Token endpoints for the upstream-credential tests, on real oidc-provider instances:
 * RFC 8693 token exchange and Entra-style on-behalf-of added to the test IdP (grant handlers
 * that accept only access tokens that IdP issued, found with `AccessToken.find`, or JWTs of its
 * issuer signed with given keys; each records every parameter it got), and a second provider with the
 * built-in client credentials grant. Both count the grants they answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface Exchange {
  grantType: string;
  accountId: string;
  clientId: string;
  /** subject_token (token exchange) or assertion (on-behalf-of). */
  subjectToken: string;
  audience?: string;
  scope?: string;
  resource?: string;
  /** Every form parameter of the request, client authentication aside. */
  params: Record<string, string>;
  /** The access token issued. */
  token: string;
}

export interface ExchangeOptions {
  /**
   * Keys of JWT access tokens this IdP "issued" (its `iss`): accepted as subject tokens besides the
   * opaque access tokens it issued itself (oidc-provider issues JWT access tokens only with resource
   * indicators, which the test IdP has off).
   */
  jwtKeys?: { keys: JWK[] };
  /** Seconds: the exchanged tokens' lifetime (else the provider's). */
  expiresIn?: number;
}

/** The user a subject token stands for: an access token this IdP issued, or a JWT of its issuer signed by `jwtKeys`. */
async function subjectAccount(
  ctx: KoaContextWithOIDC,
  token: string | undefined,
  o: ExchangeOptions,
): Promise<{ accountId: string; grantId?: string }> {
  if (!token) throw new errors.InvalidRequest('no subject token');
  const at = await ctx.oidc.provider.AccessToken.find(token);
  if (at?.accountId) return { accountId: at.accountId, grantId: at.grantId };
  if (o.jwtKeys && token.split('.').length === 3) {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(o.jwtKeys), { issuer: ctx.oidc.provider.issuer });
      if (typeof payload.sub === 'string') return { accountId: payload.sub };
    } catch {
      // refused below
    }
  }
  throw new errors.InvalidGrant('subject_token is not an access token this IdP issued');
}

/** Answers a grant with a new access token for the subject's user, and records the request. */
async function issueFor(
  ctx: KoaContextWithOIDC,
  grantType: string,
  subjectToken: string,
  subject: { accountId: string; grantId?: string },
  done: Exchange[],
  expiresIn?: number,
): Promise<void> {
  const p = ctx.oidc.params as Record<string, string | undefined>;
  const at = new ctx.oidc.provider.AccessToken({
    accountId: subject.accountId,
    client: ctx.oidc.client!,
    grantId: subject.grantId as string, // none for a JWT subject
    gty: grantType === TOKEN_EXCHANGE ? 'token_exchange' : 'on_behalf_of',
    scope: p.scope,
    aud: p.audience,
    expiresIn,
  });
  const token = await at.save();
  const { client_id: _id, client_secret: _secret, ...params } = { ...(ctx.oidc.body as Record<string, string>) };
  done.push({
    grantType,
    accountId: subject.accountId,
    clientId: ctx.oidc.client!.clientId,
    subjectToken,
    audience: p.audience,
    scope: p.scope,
    resource: p.resource,
    params,
    token,
  });
  ctx.body = {
    access_token: token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: at.expiration,
    scope: p.scope,
  };
}

/** Adds token exchange to `provider` (call before its clients are first used); returns the exchanges it answered. */
export function addTokenExchange(provider: Provider, o: ExchangeOptions = {}, done: Exchange[] = []): Exchange[] {
  const params = ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'];
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: KoaContextWithOIDC) => {
      const p = ctx.oidc.params as Record<string, string | undefined>;
      if (p.subject_token_type !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest('this test IdP exchanges access tokens only');
      await issueFor(
        ctx,
        TOKEN_EXCHANGE,
        p.subject_token!,
        await subjectAccount(ctx, p.subject_token, o),
        done,
        o.expiresIn,
      );
    },
    params,
  );
  return done;
}

/**
 * Adds Entra ID's on-behalf-of to `provider`: the JWT bearer grant with `assertion` (the user's
 * access token) and `requested_token_use=on_behalf_of`, `scope` required. Records into `done`.
 */
export function addOnBehalfOf(provider: Provider, o: ExchangeOptions = {}, done: Exchange[] = []): Exchange[] {
  provider.registerGrantType(
    JWT_BEARER,
    async (ctx: KoaContextWithOIDC) => {
      const p = ctx.oidc.params as Record<string, string | undefined>;
      if (p.requested_token_use !== 'on_behalf_of')
        throw new errors.InvalidRequest('requested_token_use must be on_behalf_of');
      if (!p.scope) throw new errors.InvalidRequest('scope is required');
      await issueFor(ctx, JWT_BEARER, p.assertion!, await subjectAccount(ctx, p.assertion, o), done);
    },
    ['assertion', 'requested_token_use', 'scope'],
  );
  return done;
}

export interface ClientCredentialsIdp {
  provider: Provider;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** client_credentials grants answered. */
  grants: () => number;
  close(): Promise<void>;
}

/**
 * A second oidc-provider with only the client credentials grant, for one client allowed scope
 * `reports`; `ttl` (seconds) is its tokens' lifetime (else the provider's default).
 */
export async function startClientCredentialsIdp(opts: { ttl?: number } = {}): Promise<ClientCredentialsIdp> {
  const clientId = 'reports-client';
  const clientSecret = 'reports-client-secret-0123456789';
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'reports',
      },
    ],
    scopes: ['reports'],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    ...(opts.ttl ? { ttl: { ClientCredentials: opts.ttl } } : {}),
  });
  let grants = 0;
  provider.on('grant.success', () => grants++);
  server.on('request', provider.callback());
  return {
    provider,
    tokenEndpoint: `${issuer}/token`,
    clientId,
    clientSecret,
    grants: () => grants,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
