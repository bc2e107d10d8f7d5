/**
 * `authorizationServer.enterpriseIdps`: the enterprise IdPs whose Identity Assertion JWT Authorization
 * Grants (ID-JAG, Okta Cross App Access) the authorization server accepts with the jwt-bearer grant.
 */
import { z } from 'zod';
import { isHttpsOrLoopbackHttp } from '../lib/net.js';
import { url } from './zod-helpers.js';

const jwk = z.looseObject({ kty: z.string().min(1) }).refine((k) => !('d' in k) && !('k' in k), {
  message: 'jwks holds public keys only (no "d" or "k" members)',
});

export const EnterpriseIdpSchema = z
  .strictObject({
    /** The IdP's issuer: the ID-JAG's `iss`, exactly. */
    issuer: z.string().min(1),
    /** Where its signing keys are (the operator's URL: https, or http on a loopback host). */
    jwksUri: url.optional(),
    /** Its public signing keys inline. */
    jwks: z.strictObject({ keys: z.array(jwk).min(1, 'jwks needs at least one key') }).optional(),
    /** The ID-JAG's `aud`; default: this authorization server's issuer (`server.publicUrl`). */
    audience: z.string().min(1).optional(),
    /** The claim of the ID-JAG that lists the user's groups. */
    groupsClaim: z.string().min(1).default('groups'),
    /**
     * Its users are the login's users (same `sub`); default: true when `issuer` is `oidc.issuer`.
     * Otherwise a user is `<issuer>#<sub>` for policy, sessions and logout, like external tokens.
     */
    sameUsers: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const given = [c.jwksUri, c.jwks].filter((v) => v !== undefined).length;
    if (given !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `enterprise IdP ${c.issuer} needs exactly one of jwksUri or jwks (has ${given})`,
      });
    if (c.jwksUri !== undefined && !isHttpsOrLoopbackHttp(c.jwksUri))
      ctx.addIssue({
        code: 'custom',
        path: ['jwksUri'],
        message: 'jwksUri must be https (plain http only on a loopback host)',
      });
  });

export const EnterpriseIdpsSchema = z
  .array(EnterpriseIdpSchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.issuer))
        ctx.addIssue({ code: 'custom', path: [i, 'issuer'], message: `enterprise IdP ${c.issuer} is listed twice` });
      seen.add(c.issuer);
    });
  });

export type EnterpriseIdpConfig = z.output<typeof EnterpriseIdpSchema>;
