/**
 * The upstream relying party: openid-client discovery, retried until it succeeds, and the
 * token operations the proxy needs. Plain http is allowed only for loopback issuers, the
 * embedded dev IdP, or when `oidc.allowInsecure` says so.
 */
import * as oidc from 'openid-client';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';

export type FetchLike = typeof fetch;
type Oidc = NonNullable<Config['oidc']>;

export interface UpstreamTokens {
  accessToken?: string;
  refreshToken?: string;
  idToken?: string;
  /** ms since epoch */
  expiresAt?: number;
}

export class UpstreamClient {
  private pending?: Promise<oidc.Configuration>;
  private config?: oidc.Configuration;
  lastError?: string;

  constructor(readonly settings: Oidc, private readonly fetchImpl?: FetchLike) {}

  get ready(): boolean {
    return this.config !== undefined;
  }

  /** Discovery once; a failure is reported and retried at the next call. */
  async get(): Promise<oidc.Configuration> {
    if (this.config) return this.config;
    this.pending ??= this.discover().then(
      (c) => {
        this.config = c;
        this.lastError = undefined;
        return c;
      },
      (e: Error) => {
        this.pending = undefined;
        this.lastError = e.message;
        throw new Errors.IDP_UNAVAILABLE();
      },
    );
    return this.pending;
  }

  private async discover(): Promise<oidc.Configuration> {
    const s = this.settings;
    const insecure = new URL(s.issuer).protocol === 'http:';
    const opts: oidc.DiscoveryRequestOptions = { timeout: 10 };
    if (insecure) opts.execute = [oidc.allowInsecureRequests];
    if (this.fetchImpl) opts[oidc.customFetch] = this.fetchImpl as never;
    const found = await oidc.discovery(new URL(s.issuer), s.clientId, undefined, oidc.None(), opts);
    const meta = found.serverMetadata();
    const supported = meta.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const method = s.tokenEndpointAuthMethod ?? (supported.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post');
    const auth = method === 'client_secret_basic' ? oidc.ClientSecretBasic(s.clientSecret) : oidc.ClientSecretPost(s.clientSecret);
    const cfg = new oidc.Configuration(meta, s.clientId, { client_secret: s.clientSecret }, auth);
    if (insecure) oidc.allowInsecureRequests(cfg);
    if (this.fetchImpl) cfg[oidc.customFetch] = this.fetchImpl as never;
    cfg.timeout = 10;
    return cfg;
  }

  async authorizationUrl(params: { state: string; nonce: string; verifier: string }): Promise<string> {
    const cfg = await this.get();
    const url = oidc.buildAuthorizationUrl(cfg, {
      ...this.settings.extraAuthParams,
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(' '),
      state: params.state,
      nonce: params.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(params.verifier),
      code_challenge_method: 'S256',
    });
    return url.href;
  }

  /** Code → tokens, with state, nonce and PKCE checked by openid-client; claims from userinfo when the ID token lacks them. */
  async finishLogin(callbackQuery: string, tx: { state: string; nonce: string; verifier: string }) {
    const cfg = await this.get();
    const current = new URL(this.settings.redirectUri);
    current.search = callbackQuery;
    const tokens = await oidc.authorizationCodeGrant(cfg, current, {
      pkceCodeVerifier: tx.verifier,
      expectedState: tx.state,
      expectedNonce: tx.nonce,
      idTokenExpected: true,
    });
    let claims: Record<string, unknown> = { ...tokens.claims() };
    const gc = this.settings.groupsClaim;
    const lacking = claims.email === undefined || claims.name === undefined || claims[gc] === undefined;
    if (lacking && cfg.serverMetadata().userinfo_endpoint) {
      try {
        const info = await oidc.fetchUserInfo(cfg, tokens.access_token, claims.sub as string);
        claims = { ...info, ...claims, ...Object.fromEntries(Object.entries(info).filter(([k]) => claims[k] === undefined)) };
      } catch {
        /* userinfo is best effort: the ID token already identified the user */
      }
    }
    return { claims, tokens: toTokens(tokens) };
  }

  async refresh(refreshToken: string): Promise<UpstreamTokens> {
    const cfg = await this.get();
    const t = await oidc.refreshTokenGrant(cfg, refreshToken);
    const out = toTokens(t);
    out.refreshToken ??= refreshToken;
    return out;
  }

  async revoke(token: string): Promise<void> {
    const cfg = await this.get();
    if (cfg.serverMetadata().revocation_endpoint) await oidc.tokenRevocation(cfg, token);
  }

  /** RP-initiated logout URL, when the IdP has an end_session_endpoint. */
  async endSessionUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<string | undefined> {
    const cfg = await this.get();
    if (!cfg.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri, client_id: this.settings.clientId };
    if (idToken) params.id_token_hint = idToken;
    return oidc.buildEndSessionUrl(cfg, params).href;
  }
}

function toTokens(t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): UpstreamTokens {
  const expiresIn = t.expiresIn();
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    idToken: t.id_token,
    expiresAt: expiresIn !== undefined ? Date.now() + expiresIn * 1000 : undefined,
  };
}
