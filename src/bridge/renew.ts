/**
 * What the upstream sessions the proxy opens for the version bridge share: the initialize request
 * they open with, and the renewal of a session the server forgot (a new one, announced by
 * `onrenew`, or the session ends).
 */
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { RpcMessage } from '../mcp/jsonrpc.js';

/** The id of the bridge's own initialize request. */
export const INIT_ID = 'bridge-init';

/** The initialize request of a bridge session: it declares sampling and elicitation. */
export function initializeRequest(): RpcMessage {
  return {
    jsonrpc: '2.0',
    id: INIT_ID,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: { sampling: {}, elicitation: {} },
      clientInfo: { name: 'mcp-oidc-proxy-bridge', version: '1' },
    },
  };
}

/** A new session: `onrenew` when it is initialized, `fail` (then the error) when it cannot be. */
export function renewed<T>(initialize: () => Promise<T>, onrenew: () => void, fail: () => void): Promise<T> {
  return initialize().then(
    (r) => {
      onrenew();
      return r;
    },
    (e: Error) => {
      fail();
      throw e;
    },
  );
}

/** Whether the session `init` opens can be used: it was initialized and has not ended since. */
export async function usable(init: Promise<unknown> | undefined, gone: () => boolean): Promise<boolean> {
  try {
    await init;
    return !gone();
  } catch {
    return false;
  }
}
