/**
 * The upstream relying party: openid-client discovery, retried until it succeeds, and the
 * token operations the proxy needs. Plain http is allowed only for loopback issuers, the
 * embedded dev IdP, or when `oidc.allowInsecure` says so.
 */
import * as oidc from 'openid-client';
import type { Config } from '../config/load.js';
import { idpUnavailable } from '../errors.js';
import { FailureBackoff } from '../lib/backoff.js';
import { errorCause } from '../lib/error-cause.js';
import { presetFor, upstreamAuthParams, type Identity, type IdpPreset } from './providers/index.js';
import { mergeClaims } from './providers/generic.js';

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
  /**
   * A failed discovery is answered from memory for a while (backoff), not retried by every login or readiness probe.
   */
  private readonly backoff = new FailureBackoff();
  lastError?: string;
  /** The IdP's quirks (oidc.provider): the only place that knows which IdP this is. */
  readonly preset: IdpPreset;

  constructor(
    readonly settings: Oidc,
    private readonly fetchImpl?: FetchLike,
  ) {
    this.preset = presetFor(settings);
  }

  /** The fetch every call to the IdP goes through (undefined: the global one). */
  get fetch(): FetchLike | undefined {
    return this.fetchImpl;
  }

  get ready(): boolean {
    return this.config !== undefined;
  }

  /** Discovery once; a failure is reported and retried at a later call (after a backoff). */
  async get(): Promise<oidc.Configuration> {
    if (this.config) return this.config;
    this.pending ??= this.backoff
      .run(() => this.discover())
      .then(
        (c) => {
          this.config = c;
          this.lastError = undefined;
          return c;
        },
        (e: Error) => {
          this.pending = undefined;
          this.lastError = errorCause(e);
          throw idpUnavailable(`discovery at ${this.settings.issuer}: ${this.lastError}`);
        },
      );
    return this.pending;
  }

  private async discover(): Promise<oidc.Configuration> {
    const s = this.settings;
    const insecure = [s.issuer, ...Object.values(s.endpoints ?? {})].some((u) => u?.startsWith('http:'));
    const oauth2 = this.preset.oauth2;
    const baseFetch = (this.fetchImpl ?? (oauth2?.wrapFetch ? fetch : undefined)) as oidc.CustomFetch | undefined;
    const doFetch = baseFetch && oauth2?.wrapFetch ? oauth2.wrapFetch(baseFetch) : baseFetch;
    let meta: oidc.ServerMetadata;
    if (oauth2) {
      meta = oauth2.metadata(s); // a plain OAuth 2.0 server: no discovery document
    } else {
      const opts: oidc.DiscoveryRequestOptions = { timeout: 10 };
      if (insecure) opts.execute = [oidc.allowInsecureRequests];
      if (doFetch) opts[oidc.customFetch] = doFetch;
      meta = (await oidc.discovery(new URL(s.issuer), s.clientId, undefined, oidc.None(), opts)).serverMetadata();
    }
    const supported = meta.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const method =
      s.tokenEndpointAuthMethod ??
      (supported.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post');
    const auth =
      method === 'client_secret_basic' ? oidc.ClientSecretBasic(s.clientSecret) : oidc.ClientSecretPost(s.clientSecret);
    const cfg = new oidc.Configuration(meta, s.clientId, { client_secret: s.clientSecret }, auth);
    if (insecure) oidc.allowInsecureRequests(cfg);
    if (doFetch) cfg[oidc.customFetch] = doFetch;
    cfg.timeout = 10;
    return cfg;
  }

  async authorizationUrl(params: { state: string; nonce: string; verifier: string }): Promise<string> {
    const cfg = await this.get();
    const url = oidc.buildAuthorizationUrl(cfg, {
      ...upstreamAuthParams(this.settings),
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(' '),
      state: params.state,
      ...(this.preset.oauth2 ? {} : { nonce: params.nonce }),
      code_challenge: await oidc.calculatePKCECodeChallenge(params.verifier),
      code_challenge_method: 'S256',
    });
    return url.href;
  }

  /**
   * Code → tokens, with state, PKCE (and for OIDC the nonce and ID token) checked by
   * openid-client; claims from userinfo when the ID token lacks them (OAuth 2.0 presets: from
   * their API). The preset turns them into the identity, or refuses the user (LoginRefused).
   */
  async finishLogin(
    callbackQuery: string,
    tx: { state: string; nonce: string; verifier: string },
  ): Promise<{ claims: Record<string, unknown>; identity: Identity; tokens: UpstreamTokens }> {
    const cfg = await this.get();
    const current = new URL(this.settings.redirectUri);
    current.search = callbackQuery;
    const oauth2 = this.preset.oauth2;
    const tokens = await oidc.authorizationCodeGrant(cfg, current, {
      pkceCodeVerifier: tx.verifier,
      expectedState: tx.state,
      ...(oauth2 ? {} : { expectedNonce: tx.nonce, idTokenExpected: true }),
    });
    const idClaims: Record<string, unknown> = { ...tokens.claims() };
    let userinfo: Record<string, unknown> | undefined;
    if (oauth2) {
      userinfo = await oauth2.userinfo(cfg, tokens.access_token, this.settings, tokens.scope);
    } else {
      const gc = this.settings.groupsClaim;
      const lacking = idClaims.email === undefined || idClaims.name === undefined || idClaims[gc] === undefined;
      if (lacking && cfg.serverMetadata().userinfo_endpoint) {
        try {
          userinfo = { ...(await oidc.fetchUserInfo(cfg, tokens.access_token, idClaims.sub as string)) };
        } catch {
          /* userinfo is best effort: the ID token already identified the user */
        }
      }
    }
    const identity = this.preset.claims(idClaims, userinfo, this.settings);
    return { claims: mergeClaims(idClaims, userinfo), identity, tokens: toTokens(tokens) };
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
    const params: Record<string, string> = {
      post_logout_redirect_uri: postLogoutRedirectUri,
      client_id: this.settings.clientId,
    };
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
