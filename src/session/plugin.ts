/**
 * Browser sessions in encrypted, authenticated cookies (@fastify/secure-session, libsodium
 * secretbox). The first key encrypts, every key decrypts (rotation). Two cookies: the
 * session itself, and the login transaction scoped to /oauth/callback.
 */
import fp from 'fastify-plugin';
import secureSession from '@fastify/secure-session';
import type { FastifyInstance } from 'fastify';
import type { Session } from '@fastify/secure-session';
import type { Config } from '../config/load.js';
import './data.js';

export const LOGIN_TX_MAX_AGE_S = 600;

declare module 'fastify' {
  interface FastifyRequest {
    loginTx: Session;
  }
}

export interface SessionSettings {
  cookieName: string;
  txCookieName: string;
  maxAgeMs: number;
  idleMs: number;
  secure: boolean;
}

export function sessionSettings(config: Config): SessionSettings {
  return {
    cookieName: config.session.cookieName,
    txCookieName: `${config.session.cookieName}_tx`,
    maxAgeMs: config.session.maxAge,
    idleMs: config.session.idleTimeout,
    secure: config.server.publicUrl.startsWith('https:'),
  };
}

async function sessionPlugin(app: FastifyInstance, opts: { config: Config }) {
  const s = sessionSettings(opts.config);
  const key = opts.config.session.keys.map((k) => Buffer.from(k, 'base64'));
  const base = { httpOnly: true, sameSite: 'lax' as const, secure: s.secure };
  await app.register(secureSession, [
    {
      sessionName: 'session',
      cookieName: s.cookieName,
      key,
      expiry: Math.ceil(s.maxAgeMs / 1000),
      cookie: { ...base, path: '/', maxAge: Math.ceil(s.maxAgeMs / 1000) },
    },
    {
      sessionName: 'loginTx',
      cookieName: s.txCookieName,
      key,
      expiry: LOGIN_TX_MAX_AGE_S,
      cookie: { ...base, path: '/oauth/callback', maxAge: LOGIN_TX_MAX_AGE_S },
    },
  ]);
}

export default fp(sessionPlugin, { name: 'session' });
