/**
 * Keycloak. The issuer is a realm: `https://<host>/realms/<realm>` (`/auth/realms/<realm>` before
 * Keycloak 17). Groups come from a "Group Membership" mapper; with "Full group path" on they are
 * paths (`/admins`, `/eng/backend`): the leading `/` is stripped so policies name `admins`,
 * `eng/backend`. Refresh tokens come without offline_access, which would create offline
 * sessions that outlive the SSO session, so it is not requested by default.
 */
import { definePreset, issuerUrl, noProblems, standardIdentity } from './generic.js';

export const stripGroupPath = (g: string): string => g.replace(/^\/+/, '');

export const keycloak = definePreset({
  name: 'keycloak',
  defaultScopes: () => ['openid', 'profile', 'email'],
  claims(idToken, userinfo, s) {
    const id = standardIdentity(idToken, userinfo, s);
    return { ...id, groups: id.groups.map(stripGroupPath).filter(Boolean) };
  },
  validateConfig(s) {
    const out = noProblems();
    const path = issuerUrl(s)?.pathname;
    if (path !== undefined && !/\/realms\/[^/]+$/.test(path))
      out.errors.push('a Keycloak issuer is a realm: https://<host>/realms/<realm> (no trailing slash)');
    if (s.scopes.includes('offline_access'))
      out.warnings.push(
        'Keycloak issues refresh tokens without offline_access; requesting it creates offline sessions that ' +
          'outlive the SSO session',
      );
    return out;
  },
});
