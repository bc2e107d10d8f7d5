/**
 * The live state's shape: everything a reload may change, immutable once built and swapped
 * whole (docs/ARCHITECTURE.md, "Live state and reload"). Routes read `live.current`; the
 * composition root (src/app/) alone builds and assigns it.
 */
import type { Config } from './config/load.js';
import type { Backend } from './backends/backend.js';
import type { BackendSet } from './backends/registry.js';
import type { ApiKeys } from './tokens/apikeys.js';
import type { ClientCertificates } from './identity/client-certificates.js';

export interface LiveState {
  /** The config this state was built from (the keys that are not live equal the running ones). */
  readonly config: Config;
  /** The backend serving each name, as built: what the next reload compares against. */
  readonly served: ReadonlyMap<string, Backend>;
  /**
   * What requests use: the served backends, and the default one served at `/mcp`;
   * during a reload's drain, older backends of a name still answer their sessions.
   */
  readonly backends: BackendSet;
  /** `policy.mode` is `enforce` (dry-run: decisions are logged, not applied; lists are not filtered). */
  readonly enforce: boolean;
  readonly tenants: Config['tenants'];
  /** The API key index (by sha256). */
  readonly apiKeys: ApiKeys;
  /** The client certificates that are principals (by DER sha256). */
  readonly clientCertificates: ClientCertificates;
  /** Every MCP resource URL of this proxy with the OAuth scopes it offers. */
  readonly resources: ReadonlyMap<string, string[]>;
}

/** Where the live state is read; the composition root alone assigns `current`. */
export interface Live {
  readonly current: LiveState;
}
