/** The Fastify instance of one proxy app (logging, timeouts, HTTPS when `server.tls`), and the embedded dev IdP. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import { DEV_IDP_PATH } from '../config/load.js';
import { DEFAULT_DEV_USERS, devIdpPlugin } from '../devidp/plugin.js';
import { loggerOptions, OneLinePerRequest } from '../observability/logger.js';
import { newRequestId } from '../observability/request-id.js';
import { httpsOptions } from './tls.js';

/** `logStream`: where log lines go (tests); `http2`: HTTP/2 over TLS (bench only, not a config key). */
export function createFastify(config: Config, deps: { logStream?: NodeJS.WritableStream; http2?: boolean }) {
  const listener = config.server.tls ? httpsOptions(config.server.tls) : undefined;
  const http = {
    requestTimeout: config.server.requestTimeout,
    headersTimeout: Math.min(60_000, config.server.requestTimeout),
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(config.server.requestTimeout / 4))),
  };
  const app = Fastify({
    logger: loggerOptions(config.server.logLevel, deps.logStream),
    logController: new OneLinePerRequest(),
    genReqId: newRequestId,
    trustProxy: config.server.trustProxy as boolean | string,
    bodyLimit: config.server.bodyLimit,
    // Fastify's default (0) turns off Node's request timeout: a stalled or dripped body would hold
    // its socket forever. Node swaps the two timeouts when headersTimeout (60 s) exceeds
    // requestTimeout, so it is capped; expired requests are looked for every
    // connectionsCheckingInterval (30 s by default, too coarse for short timeouts).
    requestTimeout: config.server.requestTimeout,
    http,
    // server.tls: HTTPS (https.createServer takes the same timeouts); the type stays Fastify's default.
    ...((listener
      ? { https: { ...http, ...listener.options, allowHTTP1: deps.http2 }, http2: deps.http2 === true }
      : {}) as object),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  });
  return { app, listener };
}

/** The embedded dev IdP at DEV_IDP_PATH (`devIdp.enabled`), with this proxy's oidc client registered. */
export async function registerDevIdp(app: FastifyInstance, config: Config): Promise<void> {
  const devIdp = config.devIdp!;
  await app.register(devIdpPlugin, {
    issuer: `${config.server.publicUrl}${DEV_IDP_PATH}`,
    prefix: DEV_IDP_PATH,
    users: devIdp.users.length ? devIdp.users : DEFAULT_DEV_USERS.map((u) => ({ ...u, groups: [...u.groups] })),
    trustProxy: Boolean(config.server.trustProxy),
    consent: devIdp.consent,
    clients: config.oidc
      ? [
          {
            client_id: config.oidc.clientId,
            client_secret: config.oidc.clientSecret!,
            redirect_uris: [config.oidc.redirectUri],
            grant_types: ['authorization_code', 'refresh_token'],
            post_logout_redirect_uris: [`${config.server.publicUrl}/`],
          },
        ]
      : [],
  });
}
