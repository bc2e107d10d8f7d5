/**
 * `authorizationServer.clients`: machine clients registered by the operator (client_credentials),
 * each authenticated by exactly one of a client secret, a JWKS URL or an inline JWKS (private_key_jwt).
 */
import { z } from 'zod';
import { strList, url } from './zod-helpers.js';

const jwk = z.looseObject({ kty: z.string().min(1) }).refine((k) => !('d' in k) && !('k' in k), {
  message: 'jwks holds public keys only (no "d" or "k" members: the private key stays with the client)',
});

export const AsClientSchema = z
  .strictObject({
    /** The client_id it authenticates with; a name of the operator's choosing. */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'clientId uses letters, digits, ".", "_", ":", "-"'),
    /** client_secret_basic / client_secret_post; use `${ENV}` rather than writing it in the file. */
    clientSecret: z
      .string()
      .min(16, 'clientSecret must be at least 16 characters (openssl rand -base64 32)')
      .optional(),
    /** private_key_jwt: where its public keys are (the operator's URL, loopback allowed). */
    jwksUri: url.optional(),
    /** private_key_jwt: its public keys inline. */
    jwks: z.strictObject({ keys: z.array(jwk).min(1, 'jwks needs at least one key') }).optional(),
    /** Scopes it may be given (`mcp`, and scopes backend rules require). */
    scopes: z.array(z.string().min(1)).min(1, 'scopes names at least one scope (e.g. [mcp])'),
    /** The principal its tokens carry; default `client:<clientId>`. */
    subject: z.string().min(1).optional(),
    groups: strList,
  })
  .superRefine((c, ctx) => {
    const given = [c.clientSecret, c.jwksUri, c.jwks].filter((v) => v !== undefined).length;
    if (given !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `client "${c.clientId}" needs exactly one of clientSecret, jwksUri or jwks (has ${given})`,
      });
  });

export const AsClientsSchema = z
  .array(AsClientSchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.clientId))
        ctx.addIssue({ code: 'custom', path: [i, 'clientId'], message: `duplicate clientId "${c.clientId}"` });
      seen.add(c.clientId);
    });
  });

export type AsClientConfig = z.output<typeof AsClientSchema>;

/** The principal a client's tokens carry. */
export const clientSubject = (c: Pick<AsClientConfig, 'clientId' | 'subject'>): string =>
  c.subject ?? `client:${c.clientId}`;
