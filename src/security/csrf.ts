/** CSRF protection for cookie-authenticated POSTs: a per-session token, form field `csrf` or header `X-CSRF-Token`. */
import type { FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import { safeEqual } from '../lib/crypto.js';

export function presentedCsrf(req: FastifyRequest): string | undefined {
  const header = req.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' && typeof body.csrf === 'string' ? body.csrf : undefined;
}

/** Throws 403 unless the request carries the session's CSRF token. */
export function assertCsrf(req: FastifyRequest, expected: string | undefined): void {
  const got = presentedCsrf(req);
  if (!expected || !got || !safeEqual(got, expected)) throw new Errors.CSRF_FAILED();
}
