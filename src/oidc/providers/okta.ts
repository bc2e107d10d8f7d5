/**
 * Okta. Two kinds of authorization server:
 * - the org authorization server, issuer `https://<org>.okta.com`: the groups claim (set on
 *   the app: Sign On → Groups claim filter) is only issued with the `groups` scope, so that
 *   scope is requested by default and check-config warns when a scope list leaves it out;
 * - a custom authorization server, issuer `https://<org>.okta.com/oauth2/<id>` (`default`):
 *   groups come from a claim defined on the server, no extra scope (requesting an undefined
 *   `groups` scope would fail there).
 */
import { OIDC_SCOPES, definePreset, issuerUrl, noProblems } from './generic.js';
import type { OidcInput } from './types.js';

type Kind = 'org' | 'custom' | 'invalid';

export function oktaServerKind(s: OidcInput): Kind {
  const path = issuerUrl(s)?.pathname ?? '';
  if (s.issuer.endsWith('/')) return 'invalid'; // Okta's issuers never end with "/": discovery compares exactly
  if (path === '/') return 'org';
  return /^\/oauth2\/[^/]+$/.test(path) ? 'custom' : 'invalid';
}

export const okta = definePreset({
  name: 'okta',
  defaultScopes: (s) => (oktaServerKind(s) === 'org' ? [...OIDC_SCOPES, 'groups'] : [...OIDC_SCOPES]),
  validateConfig(s) {
    const out = noProblems();
    const url = issuerUrl(s);
    if (!url) return out;
    if (/-admin\.(okta|oktapreview)\.com$/i.test(url.hostname))
      out.errors.push(
        `"${url.hostname}" is the Okta admin console: use the org URL without "-admin" ` +
          `(https://${url.hostname.replace(/-admin\./i, '.')})`,
      );
    const kind = oktaServerKind(s);
    if (kind === 'invalid')
      out.errors.push(
        'an Okta issuer is https://<org>.okta.com (org authorization server) or ' +
          'https://<org>.okta.com/oauth2/<server id> (custom, e.g. /oauth2/default), without a trailing slash',
      );
    if (kind === 'org' && s.groupsClaim && !s.scopes.includes('groups'))
      out.warnings.push(
        `oidc.groupsClaim is "${s.groupsClaim}" but oidc.scopes lacks "groups": Okta's org authorization server ` +
          'only issues the groups claim with the groups scope',
      );
    return out;
  },
});
