/**
 * The credential a backend with `upstream` receives instead of the client's: a token
 * exchanged for the user (tokenExchange, per user, backend and scopes) or the proxy's own
 * (clientCredentials, per backend), cached until shortly before it expires. The subject
 * token of an exchange is the user's (subject.ts); a principal without one (API keys, other
 * issuers' tokens) gets UPSTREAM_TOKEN_UNAVAILABLE, saying why. A refused or failed
 * request is UPSTREAM_TOKEN_FAILED, logged with the token endpoint's error and
 * error_description, never a token. `kind: oauth` is each user's own connection (oauth-tokens.ts).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { BackendConfig } from '../config/schema.js';
import { Errors, withReason } from '../errors.js';
import { sha256Hex } from '../lib/crypto.js';
import { principalKey, type Principal } from '../identity/principal.js';
import type { UpstreamClient } from '../oidc/client.js';
import type { SessionTokens } from '../session/tokens.js';
import { TokenCache } from './cache.js';
import { clientCredentialsToken } from './client-credentials.js';
import { endpointError, endpointFor } from './endpoint.js';
import { exchangeToken } from './exchange.js';
import type { GrantTokens } from './grant-tokens.js';
import type { IssuedToken } from './issued.js';
import type { OAuthTokens } from './oauth-tokens.js';
import { subjectFor } from './subject.js';

export type UpstreamKind = 'tokenExchange' | 'clientCredentials' | 'oauth';
export type UpstreamResult = 'exchanged' | 'cached' | 'failed' | 'refreshed' | 'connect_required';

export interface UpstreamCredential {
  kind: UpstreamKind;
  token: string;
  /** ms since epoch; undefined when unknown (stdio children's token files are renewed before it). */
  expiresAt?: number;
}

export interface UpstreamCredentialDeps {
  client?: UpstreamClient;
  tokens: SessionTokens;
  /** The upstream logins kept with the authorization server's grants (its MCP clients' subject tokens). */
  grants?: GrantTokens;
  log: FastifyBaseLogger;
  /** Counts each token handed out or refused (mcp_proxy_upstream_tokens_total). */
  count?: (backend: string, kind: UpstreamKind, result: UpstreamResult) => void;
  fetch?: typeof fetch;
  /** `kind: oauth`: each user's connection (absent: such backends are refused as not available). */
  oauth?: Pick<OAuthTokens, 'tokenFor'>;
}

export class UpstreamCredentials {
  private readonly cache = new TokenCache();

  constructor(private readonly deps: UpstreamCredentialDeps) {}

  /**
   * The backend's credential for this principal; undefined when the backend has no `upstream`.
   * `presented`: the request's own bearer token, for an external principal (its possible subject token).
   */
  async credentialFor(
    backend: BackendConfig,
    principal: Principal,
    presented?: string,
  ): Promise<UpstreamCredential | undefined> {
    const u = backend.upstream;
    if (!u) return undefined;
    if (u.kind === 'oauth') {
      if (!this.deps.oauth) throw new Errors.NOT_IMPLEMENTED(`upstream kind "${u.kind}"`);
      return { kind: 'oauth', ...(await this.deps.oauth.tokenFor(backend, principal)) };
    }
    const kind: UpstreamKind = u.kind;
    // A changed upstream definition (a reload) never reuses a token obtained under the old one.
    const what = sha256Hex(JSON.stringify(u)).slice(0, 16);
    let key = `cc\0${backend.name}\0${what}`;
    let obtain = async (): Promise<IssuedToken> =>
      clientCredentialsToken(await endpointFor(u, this.deps.client, this.deps.fetch), u);
    if (u.kind === 'tokenExchange') {
      const found = await subjectFor(principal, u, presented, {
        tokens: this.deps.tokens,
        grants: this.deps.grants,
        issuer: this.deps.client?.settings.issuer,
      });
      if ('why' in found) {
        this.deps.count?.(backend.name, kind, 'failed');
        this.deps.log.info(
          { event: 'upstream.no_subject_token', backend: backend.name, source: principal.source, why: found.why },
          `no subject token for backend "${backend.name}"`,
        );
        throw new Errors.UPSTREAM_TOKEN_UNAVAILABLE(backend.name, found.why);
      }
      const subject = found.token;
      key = `te\0${backend.name}\0${what}\0${principalKey(principal)}\0${sha256Hex(subject)}`;
      obtain = async () => exchangeToken(await endpointFor(u, this.deps.client, this.deps.fetch), subject, u);
    }
    try {
      const { token, cached } = await this.cache.get(key, obtain);
      this.deps.count?.(backend.name, kind, cached ? 'cached' : 'exchanged');
      return { kind, token: token.accessToken, expiresAt: token.expiresAt };
    } catch (e) {
      this.deps.count?.(backend.name, kind, 'failed');
      const { error, error_description, reason } = endpointError(e);
      this.deps.log.warn(
        {
          event: 'upstream.token_failed',
          backend: backend.name,
          kind,
          dialect: u.kind === 'tokenExchange' ? u.dialect : undefined,
          tokenEndpoint: u.tokenEndpoint,
          error,
          error_description,
          reason,
        },
        `could not obtain a ${kind} token for backend "${backend.name}"`,
      );
      throw withReason(new Errors.UPSTREAM_TOKEN_FAILED(backend.name), reason);
    }
  }
}
