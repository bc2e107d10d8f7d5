/**
 * Auth0. The issuer is the tenant (or custom) domain WITH a trailing slash
 * (`https://<tenant>.<region>.auth0.com/`): discovery compares it exactly. `oidc.audience`
 * is sent as the `audience` authorization parameter (an API's identifier: the access token is
 * then a JWT for that API). Auth0 adds no groups claim: a post-login Action sets one, usually
 * namespaced (`https://example.com/groups`), and `oidc.groupsClaim` names it.
 */
import { definePreset, issuerUrl, noProblems } from './generic.js';

export const auth0 = definePreset({
  name: 'auth0',
  uses: ['audience'],
  authParams: (s): Record<string, string> => (s.audience ? { audience: s.audience } : {}),
  validateConfig(s) {
    const out = noProblems();
    // The raw string: a URL's pathname is "/" whether or not the issuer ends with one.
    if (issuerUrl(s) && !s.issuer.endsWith('/'))
      out.errors.push(`an Auth0 issuer ends with "/": ${s.issuer}/ (discovery compares it exactly)`);
    if (!s.groupsClaim.includes('://'))
      out.warnings.push(
        `Auth0 puts no "${s.groupsClaim}" claim in tokens by itself: a post-login Action must set it (usually ` +
          'namespaced, e.g. https://<your-domain>/groups)',
      );
    return out;
  },
});
