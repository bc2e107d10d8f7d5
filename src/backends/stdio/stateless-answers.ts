/** The answers a stdio backend gives a 2026-07-28 request itself, without the child. */
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { rpcError, type RequestId } from '../../mcp/jsonrpc.js';
import { STATELESS_REVISION, UNSUPPORTED_PROTOCOL_VERSION } from '../../mcp/stateless.js';

/** A request that names no revision we bridge to (400). */
export function unsupportedVersion(id: RequestId | null | undefined, requested: string | string[] | undefined) {
  return rpcError(id ?? null, UNSUPPORTED_PROTOCOL_VERSION, 'Unsupported protocol version', {
    supported: [STATELESS_REVISION, ...SUPPORTED_PROTOCOL_VERSIONS],
    requested,
  });
}

/** `server/discover`, answered from the child's InitializeResult. */
export function discoverResult(init: Record<string, unknown>) {
  const {
    capabilities = {},
    serverInfo,
    instructions,
  } = init as { capabilities?: unknown; serverInfo?: unknown; instructions?: string };
  return {
    resultType: 'complete',
    supportedVersions: [STATELESS_REVISION],
    capabilities,
    ...(instructions ? { instructions } : {}),
    ttlMs: 60_000,
    cacheScope: 'private',
    _meta: { 'io.modelcontextprotocol/serverInfo': serverInfo },
  };
}
