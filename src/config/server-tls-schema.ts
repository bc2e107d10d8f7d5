/**
 * The inbound TLS keys (DESIGN.md §13): `server.tls` (the HTTPS listener and which client
 * certificates it asks for) and `clientCertificates` (client certificates that are principals).
 */
import { z } from 'zod';
import { name, strList } from './zod-helpers.js';

const file = z.string().min(1, 'a file path');

export const CLIENT_AUTH = ['none', 'optional', 'require'] as const;

/**
 * `clientAuth` defaults to `optional` when `clientCa` is set (a CA is only named to be used),
 * else `none`; `optional`/`require` need the CA, and a CA with `none` is a mistake.
 */
export const ServerTlsSchema = z
  .strictObject({
    cert: file,
    key: file,
    /** CA certificate(s) (PEM) that client certificates must chain to: one file or a list. */
    clientCa: z
      .union([file, z.array(file).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional(),
    clientAuth: z.enum(CLIENT_AUTH).optional(),
  })
  .transform((t, ctx) => {
    const clientAuth = t.clientAuth ?? (t.clientCa ? 'optional' : 'none');
    if (clientAuth !== 'none' && !t.clientCa)
      ctx.addIssue({
        code: 'custom',
        path: ['clientCa'],
        message: `clientAuth "${clientAuth}" needs clientCa: the CA that client certificates must chain to`,
      });
    if (clientAuth === 'none' && t.clientCa)
      ctx.addIssue({
        code: 'custom',
        path: ['clientAuth'],
        message: 'clientCa is set but clientAuth is "none": use optional or require (or remove clientCa)',
      });
    return { ...t, clientAuth };
  });

/**
 * A certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it, or bare
 * hex: colons, case and a leading `sha256 Fingerprint=` are accepted; kept as 64 lowercase hex.
 */
export const fingerprint = z
  .string()
  .transform((v) =>
    v
      .trim()
      .replace(/^sha-?256\s+fingerprint\s*=\s*/i, '')
      .replace(/:/g, '')
      .toLowerCase(),
  )
  .refine((v) => /^[0-9a-f]{64}$/.test(v), {
    message: 'sha256 is the certificate fingerprint: 64 hex characters, colons allowed',
  });

export const ClientCertificatesSchema = z
  .array(
    z.strictObject({
      name,
      sha256: fingerprint,
      subject: z.string().min(1),
      groups: strList,
      scopes: strList,
      email: z.string().optional(),
      tenant: z.string().optional(),
    }),
  )
  .default([])
  .superRefine((list, ctx) => {
    const names = new Set<string>();
    const prints = new Set<string>();
    list.forEach((c, i) => {
      if (names.has(c.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate client certificate "${c.name}"` });
      if (prints.has(c.sha256))
        ctx.addIssue({ code: 'custom', path: [i, 'sha256'], message: 'the same fingerprint as another entry' });
      names.add(c.name);
      prints.add(c.sha256);
    });
  });

export type ServerTls = z.output<typeof ServerTlsSchema>;
export type ClientCertificateConfig = z.output<typeof ClientCertificatesSchema>[number];
