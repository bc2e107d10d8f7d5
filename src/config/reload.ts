/**
 * Reload itself is src/app/reload.ts (the live state: src/app/live-state.ts). This type stays
 * for the MCP route, which reads `policy.mode` from the live config through it.
 */
import type { Config } from './load.js';

/** The config the request path reads live; a reload swaps what `current` returns. */
export interface LiveConfig {
  readonly current: Config;
}
