/** What a 2026-07-28 result carries that a 2025 server's lacks: `resultType`, and cache hints on cacheable results. */
import { BRIDGED_VERSIONS, SERVER_INFO_META } from './revision.js';

/** Results the revision requires cache hints on. */
const CACHEABLE = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);
/**
 * Conservative hints: nothing is cached (a 2025 server may change its lists at any time, and says
 * so only on sessions), and nothing is shared between users (the proxy filters lists per principal).
 */
export const DEFAULT_CACHE = { ttlMs: 0, cacheScope: 'private' } as const;

/** A 2025 result as the revision shapes it; the server's own hints, if any, are kept. */
export function bridgedResult(method: string, result: unknown): Record<string, unknown> {
  const r = result && typeof result === 'object' ? (result as Record<string, unknown>) : {};
  const hints = CACHEABLE.has(method)
    ? {
        ttlMs: Number.isInteger(r.ttlMs) && (r.ttlMs as number) >= 0 ? r.ttlMs : DEFAULT_CACHE.ttlMs,
        cacheScope: r.cacheScope === 'public' || r.cacheScope === 'private' ? r.cacheScope : DEFAULT_CACHE.cacheScope,
      }
    : {};
  return { ...r, resultType: typeof r.resultType === 'string' ? r.resultType : 'complete', ...hints };
}

/** `server/discover`, answered from the upstream server's 2025 InitializeResult. */
export function discoverResult(init: Record<string, unknown>): Record<string, unknown> {
  const {
    capabilities = {},
    serverInfo,
    instructions,
  } = init as { capabilities?: Record<string, unknown>; serverInfo?: unknown; instructions?: string };
  // logging/setLevel is gone: a client asks for logs per request (`_meta` logLevel), which the bridge honours.
  return {
    resultType: 'complete',
    supportedVersions: BRIDGED_VERSIONS,
    capabilities,
    ...(instructions ? { instructions } : {}),
    ttlMs: 0,
    cacheScope: 'private',
    _meta: { [SERVER_INFO_META]: serverInfo },
  };
}
