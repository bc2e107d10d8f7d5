/**
 * The generic OpenID Provider, and the defaults every other preset starts from: discovery,
 * the standard scopes, `name` or `preferred_username` as the display name, groups from
 * `oidc.groupsClaim`.
 */
import { readGroups } from '../../identity/principal.js';
import type { Claims, ConfigProblems, IdpPreset, Identity, OidcInput, OidcSettings } from './types.js';

export const OIDC_SCOPES: readonly string[] = Object.freeze(['openid', 'profile', 'email', 'offline_access']);

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** ID-token claims win; userinfo fills the claims the ID token lacks. */
export function mergeClaims(idToken: Claims, userinfo: Claims | undefined): Claims {
  const defined = Object.entries(idToken).filter(([, v]) => v !== undefined);
  return { ...userinfo, ...Object.fromEntries(defined) };
}

export function standardIdentity(idToken: Claims, userinfo: Claims | undefined, s: OidcSettings): Identity {
  const c = mergeClaims(idToken, userinfo);
  return {
    sub: String(c.sub),
    email: str(c.email),
    name: str(c.name) ?? str(c.preferred_username),
    groups: readGroups(c[s.groupsClaim]),
  };
}

export const noProblems = (): ConfigProblems => ({ errors: [], warnings: [] });

/** The issuer as a URL, or undefined when it is not one (the schema reports that). */
export const issuerUrl = (s: OidcInput): URL | undefined => URL.parse(s.issuer) ?? undefined;

type PresetParts = Pick<IdpPreset, 'name'> & Partial<Omit<IdpPreset, 'name'>>;

/** A preset: what `parts` does not define behaves like a generic OpenID Provider. */
export function definePreset(parts: PresetParts): IdpPreset {
  return Object.freeze({
    uses: [],
    defaultScopes: () => [...OIDC_SCOPES],
    authParams: () => ({}),
    claims: standardIdentity,
    validateConfig: noProblems,
    ...parts,
  });
}

export const generic = definePreset({ name: 'generic' });
