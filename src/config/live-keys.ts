/**
 * Which config keys a reload may change: `backends`, `virtualServers`, `policy`, `tenants`, `apiKeys`,
 * `clientCertificates` (and `server.watchConfig`, applied by the reload triggers). Every other key
 * needs a restart (the files `server.tls` names are re-read on their own: src/app/tls.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './load.js';
import { DEV_IDP_PATH } from './load.js';

const LIVE_KEYS = new Set(['backends', 'virtualServers', 'policy', 'tenants', 'apiKeys', 'clientCertificates']);
const LIVE_SERVER_KEYS = new Set(['watchConfig']);

/** The keys (`server.port`, `oidc`, …) that differ between two configs and cannot change live. */
export function restartKeys(a: Config, b: Config): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (LIVE_KEYS.has(key)) continue;
    const [x, y] = [(a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]];
    if (key === 'server') {
      for (const k of new Set([...Object.keys(a.server), ...Object.keys(b.server)])) {
        if (
          !LIVE_SERVER_KEYS.has(k) &&
          !isDeepStrictEqual((a.server as Record<string, unknown>)[k], (b.server as Record<string, unknown>)[k])
        )
          out.push(`server.${k}`);
      }
    } else if (!isDeepStrictEqual(key === 'oidc' ? comparableOidc(a) : x, key === 'oidc' ? comparableOidc(b) : y)) {
      out.push(key);
    }
  }
  return out;
}

/** The embedded dev IdP's client secret is generated at every load: not a change. */
function comparableOidc(c: Config): unknown {
  return c.oidc?.issuer === `${c.server.publicUrl}${DEV_IDP_PATH}` ? { ...c.oidc, clientSecret: undefined } : c.oidc;
}
