/**
 * The one interface every IdP preset implements (`oidc.provider`). A preset holds all of one
 * IdP's quirks: the scopes it needs by default, extra authorization parameters, how its
 * claims become an identity, and what check-config says about its settings. The factory in
 * ./index.ts picks one; nothing else in the code asks which IdP it talks to.
 */
import type * as oidc from 'openid-client';
import type { OidcSection, ProviderName } from '../../config/schema.js';

export { PROVIDER_NAMES, type ProviderName } from '../../config/schema.js';

/** The `oidc` section as validated (scopes and provider may still be unresolved). */
export type OidcInput = OidcSection;
/** The `oidc` section with the preset's defaults applied. */
export type OidcSettings = OidcInput & { provider: ProviderName; scopes: string[] };

export type Claims = Record<string, unknown>;

/** What a login proves about the user; the session is built from it. */
export interface Identity {
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
}

export interface ConfigProblems {
  /** check-config fails (exit 1). */
  errors: string[];
  /** Printed by check-config and logged at start. */
  warnings: string[];
}

/** Thrown by `claims()` when the IdP authenticated someone this configuration does not admit. */
export class LoginRefused extends Error {
  override name = 'LoginRefused';
}

/** Keys of the `oidc` section only some presets read; the others warn when they are set. */
export type PresetOption = 'audience' | 'allowedDomains' | 'endpoints';

/** For plain OAuth 2.0 servers (no discovery, no ID token): endpoints by hand, identity from an API. */
export interface OAuth2Profile {
  metadata(s: OidcSettings): oidc.ServerMetadata;
  /** The user's claims, read with the access token (`grantedScope`: the token response's `scope`). */
  userinfo(
    cfg: oidc.Configuration,
    accessToken: string,
    s: OidcSettings,
    grantedScope: string | undefined,
  ): Promise<Claims>;
  /** Adapts the server's HTTP quirks (e.g. errors answered with 200) for openid-client. */
  wrapFetch?(f: oidc.CustomFetch): oidc.CustomFetch;
}

export interface IdpPreset {
  readonly name: ProviderName;
  readonly uses: readonly PresetOption[];
  /** Scopes requested when `oidc.scopes` is not set. */
  defaultScopes(s: OidcInput): string[];
  /** Authorization request parameters this IdP needs (`oidc.extraAuthParams` still wins). */
  authParams(s: OidcSettings): Record<string, string>;
  /** ID-token claims and userinfo (either may be empty) → identity; throws LoginRefused. */
  claims(idToken: Claims, userinfo: Claims | undefined, s: OidcSettings): Identity;
  validateConfig(s: OidcSettings): ConfigProblems;
  /** Present for OAuth 2.0 servers that are not OpenID Providers (GitHub). */
  readonly oauth2?: OAuth2Profile;
}
