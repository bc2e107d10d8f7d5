/**
 * The preset factory: `oidc.provider`, else inferred from the issuer when that is unambiguous,
 * else `generic`. Also the checks every preset shares (keys only some presets read, the RFC 8707
 * `resource` parameter that is never sent upstream).
 */
import { auth0 } from './auth0.js';
import { entra } from './entra.js';
import { generic } from './generic.js';
import { github } from './github.js';
import { google } from './google.js';
import { keycloak } from './keycloak.js';
import { okta } from './okta.js';
import type { OidcPresets } from '../../config/load.js';
import type { ConfigProblems, IdpPreset, OidcInput, OidcSettings, PresetOption, ProviderName } from './types.js';

export * from './types.js';

const PRESETS: Readonly<Record<ProviderName, IdpPreset>> = Object.freeze({
  okta,
  keycloak,
  auth0,
  entra,
  google,
  github,
  generic,
});

/**
 * The provider an issuer URL names: *.okta.com / *.oktapreview.com,
 * Entra, Google, GitHub, *.auth0.com, a Keycloak realm path.
 */
export function inferProvider(issuer: string): ProviderName {
  const url = URL.parse(issuer);
  if (!url) return 'generic';
  const host = url.hostname.toLowerCase();
  const under = (domain: string) => host === domain || host.endsWith(`.${domain}`);
  if (under('okta.com') || under('oktapreview.com')) return 'okta';
  if (host === 'login.microsoftonline.com') return 'entra';
  if (host === 'accounts.google.com') return 'google';
  if (host === 'github.com') return 'github';
  if (under('auth0.com')) return 'auth0';
  if (/\/realms\/[^/]+/.test(url.pathname)) return 'keycloak';
  return 'generic';
}

export function presetFor(s: Pick<OidcInput, 'provider' | 'issuer'>): IdpPreset {
  return PRESETS[s.provider ?? inferProvider(s.issuer)];
}

/** The `oidc` section with the provider resolved and the preset's default scopes applied. */
export function resolveOidc<T extends OidcInput>(s: T): T & { provider: ProviderName; scopes: string[] } {
  const preset = presetFor(s);
  return { ...s, provider: preset.name, scopes: s.scopes ?? preset.defaultScopes(s) };
}

const OPTION_KEYS: Record<PresetOption, (s: OidcSettings) => boolean> = {
  audience: (s) => s.audience !== undefined,
  allowedDomains: (s) => s.allowedDomains.length > 0,
  endpoints: (s) => s.endpoints !== undefined,
};

/** Every problem with the `oidc` section: the shared checks, then the preset's own. */
export function oidcProblems(input: OidcInput): ConfigProblems {
  const s = resolveOidc(input);
  const preset = presetFor(s);
  const own = preset.validateConfig(s);
  const warnings: string[] = [];
  const inferred = inferProvider(s.issuer);
  if (input.provider && inferred !== 'generic' && inferred !== input.provider)
    warnings.push(`oidc.provider is "${input.provider}" but the issuer looks like ${inferred}`);
  for (const [key, isSet] of Object.entries(OPTION_KEYS) as Array<[PresetOption, (s: OidcSettings) => boolean]>) {
    if (isSet(s) && !preset.uses.includes(key))
      warnings.push(`oidc.${key} has no effect with provider "${preset.name}"`);
  }
  if (s.extraAuthParams.resource !== undefined)
    warnings.push(
      'oidc.extraAuthParams.resource is never sent: the upstream login names no RFC 8707 resource (the proxy is ' +
        'the resource MCP clients ask for)',
    );
  return { errors: own.errors, warnings: [...warnings, ...own.warnings] };
}

/** The presets' part of config loading (src/config/load.ts): their errors join the schema's. */
export const oidcPresets: OidcPresets = {
  errors(oidc) {
    try {
      return oidcProblems(oidc).errors;
    } catch {
      return []; // too broken to judge: the section's own fields report that
    }
  },
  resolve(oidc) {
    const { provider, scopes } = resolveOidc(oidc);
    return { provider, scopes };
  },
};

/** Authorization request parameters for this preset: its own, then `extraAuthParams`, never `resource`. */
export function upstreamAuthParams(s: OidcSettings): Record<string, string> {
  const params: Record<string, string> = { ...presetFor(s).authParams(s), ...s.extraAuthParams };
  delete params.resource;
  return params;
}
