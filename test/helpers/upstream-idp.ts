/**
 * Token endpoints for the upstream-credential tests, on real oidc-provider instances:
 * RFC 8693 token exchange added to the test IdP (a grant handler that accepts only access
 * tokens that IdP issued, found with `AccessToken.find`), and a second provider with the
 * built-in client credentials grant. Both count the grants they answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface Exchange {
  accountId: string;
  clientId: string;
  subjectToken: string;
  audience?: string;
  scope?: string;
  resource?: string;
  /** The access token issued. */
  token: string;
}

/**
 * Adds token exchange to `provider` (call before its clients are first used); returns the exchanges
 * it answered. `expiresIn` (seconds) sets the exchanged tokens' lifetime (else the provider's).
 */
export function addTokenExchange(provider: Provider, opts: { expiresIn?: number } = {}): Exchange[] {
  const done: Exchange[] = [];
  const params = ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'];
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: KoaContextWithOIDC) => {
      const p = ctx.oidc.params as Record<string, string | undefined>;
      if (p.subject_token_type !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest('this test IdP exchanges access tokens only');
      const subject = p.subject_token ? await ctx.oidc.provider.AccessToken.find(p.subject_token) : undefined;
      if (!subject?.accountId) throw new errors.InvalidGrant('subject_token is not an access token this IdP issued');
      const at = new ctx.oidc.provider.AccessToken({
        accountId: subject.accountId,
        client: ctx.oidc.client!,
        grantId: subject.grantId,
        gty: 'token_exchange',
        scope: p.scope,
        aud: p.audience,
        expiresIn: opts.expiresIn,
      });
      const token = await at.save();
      done.push({
        accountId: subject.accountId,
        clientId: ctx.oidc.client!.clientId,
        subjectToken: p.subject_token!,
        audience: p.audience,
        scope: p.scope,
        resource: p.resource,
        token,
      });
      ctx.body = {
        access_token: token,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: at.expiration,
        scope: p.scope,
      };
    },
    params,
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
