/**
 * Microsoft Entra ID. v2.0 endpoints only, one tenant: `https://login.microsoftonline.com/
 * <tenant-id>/v2.0`. The multi-tenant `common` / `organizations` / `consumers` endpoints
 * publish an issuer that is not the one tokens carry, so they are refused. Entra v2 refuses
 * the RFC 8707 `resource` parameter (resources are named by scopes), and the proxy never sends
 * it anyway. `groups` are object IDs (GUIDs). `email` is often absent: the UPN-shaped
 * `preferred_username`, else `upn`, stands in.
 */
import { definePreset, issuerUrl, mergeClaims, noProblems, standardIdentity, str } from './generic.js';

const MULTI_TENANT = ['common', 'organizations', 'consumers'];
const looksLikeEmail = (v: string | undefined) => (v && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) ? v : undefined);

export const entra = definePreset({
  name: 'entra',
  claims(idToken, userinfo, s) {
    const id = standardIdentity(idToken, userinfo, s);
    const c = mergeClaims(idToken, userinfo);
    return { ...id, email: id.email ?? looksLikeEmail(str(c.preferred_username)) ?? looksLikeEmail(str(c.upn)) };
  },
  validateConfig(s) {
    const out = noProblems();
    const url = issuerUrl(s);
    if (!url) return out;
    const [tenant, version, ...rest] = url.pathname.split('/').filter(Boolean);
    if (version !== 'v2.0' || rest.length || url.pathname.endsWith('/'))
      out.errors.push(
        'an Entra ID issuer is the v2.0 endpoint of one tenant: https://login.microsoftonline.com/<tenant-id>/v2.0',
      );
    if (tenant && MULTI_TENANT.includes(tenant.toLowerCase()))
      out.errors.push(
        `the multi-tenant "${tenant}" endpoint is not supported (its tokens carry each user's own tenant as ` +
          'issuer): use your tenant ID, https://login.microsoftonline.com/<tenant-id>/v2.0',
      );
    if (s.extraAuthParams.resource !== undefined)
      out.errors.push(
        'oidc.extraAuthParams.resource: Entra ID v2.0 refuses the resource parameter (name APIs with scopes instead)',
      );
    return out;
  },
});
