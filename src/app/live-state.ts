/**
 * The live state: everything a reload may change, built from a config by one function
 * (`nextLiveState`) at start and at every reload, immutable once built, and swapped whole by
 * one reference assignment (`live.current = next`). Requests read `live.current` and keep the
 * state they started with. See docs/ARCHITECTURE.md, "Live state and reload".
 *
 * Backends: one whose definition is unchanged is kept as it is. A change of policy only (allow
 * lists, rules, rateLimit, title, and identity for HTTP) is applied to the running backend when
 * the state goes live (`commit`): pool, processes and sessions stay. Any other change (URL,
 * timeouts, stdio command/env/isolation, stdio identity or upstream.env) starts a new backend.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/load.js';
import type { BackendConfig } from '../config/schema.js';
import type { VirtualServerConfig } from '../config/virtual-schema.js';
import { mcpResources } from '../authz-server/provider.js';
import type { Backend } from '../backends/backend.js';
import { BackendSet, defaultBackendName } from '../backends/registry.js';
import { ApiKeys } from '../tokens/apikeys.js';
import { ClientCertificates } from '../identity/client-certificates.js';
import type { LiveState } from '../live.js';

export type { Live, LiveState } from '../live.js';

export interface BackendChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface NextState {
  state: LiveState;
  changes: BackendChanges;
  /** Backends of the prior state that the new one no longer serves (replaced or removed). */
  replaced: Array<{ name: string; backend: Backend }>;
  /** The state goes live: apply the policy-only changes to the backends it keeps. */
  commit(): void;
}

/** The MCP resources a config serves (`/mcp/<name>`, and `/mcp` with a default backend), each with its scopes. */
export const resourcesOf = (config: Config): Map<string, string[]> =>
  mcpResources(config, defaultBackendName(config.backends));

/** Same process or connection definition: the running backend can take the new policy in place. */
function sameTransport(a: BackendConfig, b: BackendConfig): boolean {
  return (
    isDeepStrictEqual(a.http, b.http) &&
    isDeepStrictEqual(a.stdio, b.stdio) &&
    (!a.stdio || (isDeepStrictEqual(a.identity, b.identity) && a.upstream?.env === b.upstream?.env))
  );
}

/**
 * The live state for `config`, reusing what it can of `prior` (none at start). Throws, having
 * started nothing that stays open, when the config cannot be served (e.g. two API keys with one hash).
 */
export function nextLiveState(
  config: Config,
  prior: LiveState | undefined,
  start: (cfg: BackendConfig) => Backend,
  startVirtual?: (v: VirtualServerConfig) => Backend,
): NextState {
  const apiKeys = new ApiKeys(config.apiKeys);
  const clientCertificates = new ClientCertificates(config.clientCertificates);
  const defaultName = defaultBackendName(config.backends);
  const resources = resourcesOf(config);
  const before = prior?.served ?? new Map<string, Backend>();
  const served = new Map<string, Backend>();
  const fresh: Backend[] = [];
  const adopt: Array<[Backend, BackendConfig]> = [];
  const changes: BackendChanges = { added: [], removed: [], changed: [] };
  try {
    for (const cfg of config.backends) {
      const was = before.get(cfg.name);
      const same = was !== undefined && isDeepStrictEqual(was.config, cfg);
      if (!was) changes.added.push(cfg.name);
      else if (!same) changes.changed.push(cfg.name);
      if (was && (same || sameTransport(was.config, cfg))) {
        if (!same) adopt.push([was, cfg]);
        served.set(cfg.name, was);
      } else {
        const b = start(cfg);
        fresh.push(b);
        if (was) b.inherit(was);
        served.set(cfg.name, b);
      }
    }
    for (const v of startVirtual ? config.virtualServers : []) {
      const was = before.get(v.name) as (Backend & { virtual?: VirtualServerConfig }) | undefined;
      if (was && isDeepStrictEqual(was.virtual, v)) served.set(v.name, was);
      else {
        if (was) changes.changed.push(v.name);
        else changes.added.push(v.name);
        const b = startVirtual!(v);
        fresh.push(b);
        served.set(v.name, b);
      }
    }
  } catch (e) {
    for (const b of fresh) void b.close().catch(() => undefined);
    throw e;
  }
  const replaced = [...before]
    .filter(([name, b]) => served.get(name) !== b)
    .map(([name, backend]) => ({ name, backend }));
  changes.removed = replaced.filter((r) => !served.has(r.name)).map((r) => r.name);
  const state: LiveState = Object.freeze({
    config,
    served,
    backends: new BackendSet(served, defaultName),
    enforce: config.policy.mode === 'enforce',
    tenants: config.tenants,
    apiKeys,
    clientCertificates,
    resources,
  });
  return {
    state,
    changes,
    replaced,
    commit: () => {
      for (const [b, cfg] of adopt) b.adopt(cfg);
    },
  };
}
