/**
 * Logger options for Fastify's pino: JSON lines, secrets never written. Headers are not
 * logged at all by the request serializer; redaction is the second line of defence for
 * anything a module logs on purpose (config, errors).
 */
import type { FastifyServerOptions } from 'fastify';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  '*.cookie',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.idToken',
  '*.id_token',
  '*.token',
  '*.keys',
  '*.secret',
  'config.session.keys',
  'config.oidc.clientSecret',
];

const SENSITIVE_QUERY = /([?&](?:code|state|access_token|refresh_token|id_token|id_token_hint|token|client_secret|session_state)=)[^&#]*/gi;

/** A URL fit for a log line: sensitive query values replaced. */
export function safeUrl(url: string | undefined): string | undefined {
  return url?.replace(SENSITIVE_QUERY, '$1[redacted]');
}

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: safeUrl(req.url), ip: req.ip }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    ...(stream ? { stream } : {}),
  } as FastifyServerOptions['logger'];
}
