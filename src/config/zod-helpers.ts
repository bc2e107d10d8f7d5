/** Small zod building blocks shared by the config schemas: durations, URLs, lists, names. */
import { z } from 'zod';
import { parseDuration } from './duration.js';

export const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (use e.g. 30s, 10m, 8h, 30d)` });
        return z.NEVER;
      }
      return ms;
    });

/** An http(s) URL; a missing one is `required` (the parse's error map says so). */
export const url = z.url({
  protocol: /^https?$/,
  error: (iss) => (iss.input === undefined ? undefined : 'must be an http(s) URL'),
});
export const strList = z.array(z.string()).default([]);
export const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'names use letters, digits, "-" and "_" (max 63)');
