/** Why a probe failed, in a few words: `unreachable: ECONNREFUSED 127.0.0.1:9`, `TLS: …`, `timeout after 5000 ms`. */

import { Errors } from '../errors.js';

/** A failure whose message is already the words to print (`not found on PATH`, `HTTP 404`): PROBE_FAILED. */
export const ProbeFailure = Errors.PROBE_FAILED;

const NET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  cause?: unknown;
  errors?: unknown[];
}

/** The network or TLS error inside `e` (through `cause` and AggregateError), in words. */
export function describeError(e: unknown, timeoutMs?: number): string {
  if (e instanceof Errors.PROBE_FAILED) return (e as Error).message;
  const seen = new Set<unknown>();
  let deepest = (e as Error)?.message ?? String(e);
  for (let x = e as ErrorLike | undefined; x && typeof x === 'object' && !seen.has(x); ) {
    if (x.message) deepest = x.message;
    seen.add(x);
    if (x.name === 'TimeoutError' || x.name === 'AbortError')
      return timeoutMs ? `timeout after ${timeoutMs} ms` : 'timeout';
    if (x.code && NET.has(x.code)) {
      const where = x.address ? ` ${x.address}${x.port ? `:${x.port}` : ''}` : x.hostname ? ` ${x.hostname}` : '';
      return `unreachable: ${x.code}${where}`;
    }
    if (
      x.code &&
      (/^ERR_TLS|^ERR_SSL|CERT|SELF_SIGNED/.test(x.code) || /certificate|SSL routines/i.test(x.message ?? ''))
    )
      return `TLS: ${x.code}${x.message ? ` (${x.message})` : ''}`;
    x = (x.errors?.[0] ?? x.cause) as ErrorLike | undefined;
  }
  return deepest;
}
