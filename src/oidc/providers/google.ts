/**
 * Google. No groups claim exists: who may log in is decided by the Workspace domain in the
 * `hd` claim. With `oidc.allowedDomains`, a user whose `hd` is not listed (or who has none,
 * e.g. a gmail.com account) is refused at login; with exactly one domain the `hd`
 * authorization parameter pre-selects that domain's accounts on Google's sign-in page (a hint
 * only: the claim is what is checked). Google rejects the offline_access scope.
 */
import { definePreset, mergeClaims, noProblems, standardIdentity, str } from './generic.js';
import { LoginRefused } from './types.js';

export const google = definePreset({
  name: 'google',
  uses: ['allowedDomains'],
  defaultScopes: () => ['openid', 'profile', 'email'],
  authParams: (s): Record<string, string> => (s.allowedDomains.length === 1 ? { hd: s.allowedDomains[0]! } : {}),
  claims(idToken, userinfo, s) {
    if (s.allowedDomains.length) {
      const hd = str(mergeClaims(idToken, userinfo).hd)?.toLowerCase();
      if (!hd || !s.allowedDomains.some((d) => d.toLowerCase() === hd))
        throw new LoginRefused(
          hd
            ? `the Google Workspace domain "${hd}" is not allowed here`
            : 'only Google Workspace accounts of an allowed domain may log in (this account has no domain)',
        );
    }
    return standardIdentity(idToken, userinfo, s);
  },
  validateConfig(s) {
    const out = noProblems();
    if (!s.allowedDomains.length)
      out.warnings.push(
        'oidc.allowedDomains is empty: any Google account can log in unless the OAuth consent screen is "Internal"',
      );
    if (s.scopes.includes('offline_access'))
      out.warnings.push('Google rejects the offline_access scope: remove it from oidc.scopes');
    return out;
  },
});
