/** Plain HTTP for the probes: whether a URL answers at all, and a JSON document (a JWKS) from one. */
import { request, type Dispatcher } from 'undici';
import { ProbeFailure } from './cause.js';

/**
 * Any HTTP answer means reachable (its status is the detail); a network error is thrown as it is.
 * undici's request, not fetch: fetch refuses ports the proxy's own HTTP client does not (fetch's "bad ports").
 */
export async function reach(url: string, signal: AbortSignal, dispatcher?: Dispatcher): Promise<string> {
  const res = await request(url, { method: 'GET', signal, dispatcher });
  res.body.on('error', () => undefined).destroy(); // an SSE answer would never end
  return `HTTP ${res.statusCode}`;
}

/** A JSON Web Key Set: how many keys it holds; a non-200 answer or no `keys` list is a failure. */
export async function jwksKeys(url: string, signal: AbortSignal, get: typeof fetch = fetch): Promise<number> {
  const res = await get(url, { headers: { accept: 'application/json' }, signal });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new ProbeFailure(`HTTP ${res.status}`);
  }
  const doc = (await res.json().catch(() => undefined)) as { keys?: unknown } | undefined;
  if (!Array.isArray(doc?.keys)) throw new ProbeFailure('not a JWKS (no "keys" list)');
  return doc.keys.length;
}

/** A URL fit to print: no password, no query (either may hold a secret). */
export function shownUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^@/]*@/i, '$1****@').replace(/\?.*$/, '');
}

/** `1 key`, `3 keys`. */
export const keyCount = (n: number) => `${n} key${n === 1 ? '' : 's'}`;
