/**
 * Logger options for Fastify's pino: JSON lines with ISO 8601 times, secrets never written. Headers are not
 * logged at all by the request serializer; redaction is the second line of defence for
 * anything a module logs on purpose (config, errors).
 */
import pino from 'pino';
import {
  LogController,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';

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

const SENSITIVE_QUERY =
  /([?&](?:code|state|access_token|refresh_token|id_token|id_token_hint|token|client_secret|session_state)=)[^&#]*/gi;

/** A URL fit for a log line: sensitive query values replaced. */
export function safeUrl(url: string | undefined): string | undefined {
  return url?.replace(SENSITIVE_QUERY, '$1[redacted]');
}

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    // One time format for every line: the audit trail's ISO 8601.
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
        method: req.method,
        url: safeUrl(req.url),
        ip: req.ip,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    ...(stream ? { stream } : {}),
  } as FastifyServerOptions['logger'];
}

/**
 * Fastify's two lines per request (incoming, completed) off; its error lines stay. accessLog writes one line instead.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
  }
}

/**
 * One access line per request, when its response is done (Fastify's own request logging,
 * two lines per request, is off): request id, method, path (secrets redacted), client
 * address, status, time. Its own pino on the same stream, built from chosen fields only, so
 * it needs none of the redaction pass that costs every other line. `skip`: requests logged
 * otherwise (MCP requests, whose audit line on the same stream says all this and more).
 */
export function accessLog(
  app: FastifyInstance,
  level: string,
  stream?: NodeJS.WritableStream,
  skip?: (url: string) => boolean,
): void {
  const log = pino(
    { level, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime },
    (stream ?? process.stdout) as pino.DestinationStream,
  );
  if (!log.isLevelEnabled('info')) return;
  app.addHook('onResponse', (req, reply, done) => {
    if (!skip?.(req.url))
      log.info(
        {
          reqId: req.id,
          req: { method: req.method, url: safeUrl(req.url), ip: req.ip },
          res: { statusCode: reply.statusCode },
          responseTime: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request completed',
      );
    done();
  });
}
