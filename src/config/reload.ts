/**
 * Configuration reload without downtime (SIGHUP, or `server.watchConfig`).
 *
 * Live: `backends`, `policy`, `tenants`, `apiKeys`. Each is swapped where the request path
 * already reads it — the backend registry, the API key index, `LiveConfig.current` — by one
 * reference assignment; nothing is copied per request. Every other key needs a restart: a
 * reload that changes one is refused whole, naming the keys, and the old config stays.
 *
 * Backends: unchanged ones are kept as they are. A change of policy only (allow lists, rules,
 * rateLimit, title, and identity for HTTP) is applied to the running backend: pool, processes
 * and sessions stay. Any other change (URL, timeouts, stdio command/env/isolation, stdio
 * identity) starts a new backend for new requests and retires the old one: an HTTP backend
 * is closed after a grace of `server.shutdownTimeout` (requests that already picked it) and its
 * in-flight requests; a stdio backend keeps serving the MCP sessions it holds until they end
 * (client DELETE, logout, idleTimeout), then its processes stop. Removed backends retire the
 * same way (their name answers only the sessions they still hold).
 */
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import type { Config, LoadResult } from './load.js';
import { DEV_IDP_PATH } from './load.js';
import type { BackendConfig } from './schema.js';
import { mcpResources } from '../authz-server/provider.js';
import type { Backend } from '../backends/backend.js';
import { Handover } from '../backends/handover.js';
import { defaultBackendName, type BackendFactory, type BackendRegistry } from '../backends/registry.js';
import type { StdioBackendDeps } from '../backends/stdio/backend.js';
import { lintPolicy } from '../policy/lint.js';
import type { ApiKeys } from '../tokens/apikeys.js';

/** The config the request path reads live (policy.mode, tenants); a reload swaps `current`. */
export interface LiveConfig {
  current: Config;
}

export interface ReloadResult {
  ok: boolean;
  problems?: string[];
  changed?: { added: string[]; removed: string[]; changed: string[]; apiKeys: number; policy: boolean; tenants: boolean };
}

export interface ReloadTargets {
  live: LiveConfig;
  backends: BackendRegistry;
  /** The deps the registry's backends share (`enforced()` reads the live config). */
  deps: StdioBackendDeps;
  factory: BackendFactory;
  apiKeys: ApiKeys;
  /** The MCP resources the authorization server and the resource metadata read (updated in place). */
  resources: Map<string, string[]>;
  /** The authorization server is on: its scope list is fixed at start. */
  asEnabled: boolean;
  log: FastifyBaseLogger;
}

const LIVE_KEYS = new Set(['backends', 'policy', 'tenants', 'apiKeys']);
/** server.watchConfig is applied by the CLI's triggers (below). */
const LIVE_SERVER_KEYS = new Set(['watchConfig']);

/** The keys (`server.port`, `oidc`, …) that differ between two configs and cannot change live. */
export function restartKeys(a: Config, b: Config): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (LIVE_KEYS.has(key)) continue;
    const [x, y] = [(a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]];
    if (key === 'server') {
      for (const k of new Set([...Object.keys(a.server), ...Object.keys(b.server)])) {
        if (!LIVE_SERVER_KEYS.has(k) && !isDeepStrictEqual((a.server as Record<string, unknown>)[k], (b.server as Record<string, unknown>)[k])) out.push(`server.${k}`);
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

/** Same process/connection definition: the running backend can take the new policy in place. */
function sameTransport(a: BackendConfig, b: BackendConfig): boolean {
  return isDeepStrictEqual(a.http, b.http) && isDeepStrictEqual(a.stdio, b.stdio) && (!a.stdio || isDeepStrictEqual(a.identity, b.identity));
}

interface Retired {
  name: string;
  backend: Backend;
  at: number;
}

export function createReloader(t: ReloadTargets) {
  /** The current backend per name, without handovers. */
  let current = new Map(t.backends.all().map((b) => [b.name, b]));
  let retired: Retired[] = [];
  let timer: NodeJS.Timeout | undefined;
  const offered = new Set([...t.resources.values()].flat());

  /** The registry's view: current backends, wrapped while old ones with sessions drain. */
  function publish(defaultName: string | undefined): void {
    const holding = new Map<string, Backend[]>();
    for (const r of retired) if (r.backend.keepsSessions) holding.set(r.name, [...(holding.get(r.name) ?? []), r.backend]);
    const byName = new Map([...current].map(([name, b]) => [name, holding.has(name) ? new Handover(name, b, holding.get(name)!) : b]));
    const gone = new Map([...holding].filter(([name]) => !current.has(name)).map(([name, old]) => [name, new Handover(name, undefined, old) as Backend]));
    t.backends.swap(byName, defaultName, gone);
  }

  /** Close retired backends whose grace is over and that hold no session. */
  function settle(): void {
    const grace = t.live.current.server.shutdownTimeout;
    const done = retired.filter((r) => Date.now() - r.at >= grace && (!r.backend.keepsSessions || r.backend.stats().sessions === 0));
    if (!done.length) return;
    retired = retired.filter((r) => !done.includes(r));
    for (const r of done) {
      t.log.info({ event: 'backend.retired', backend: r.name }, 'retired backend closed');
      void r.backend.close().catch(() => undefined);
    }
    publish(t.backends.defaultName);
    if (!retired.length) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  function refuse(problems: string[]): ReloadResult {
    t.log.error({ event: 'config.reload.refused', problems }, `configuration reload refused, the running config stays: ${problems.join('; ')}`);
    return { ok: false, problems };
  }

  function reload(input: Config | LoadResult): ReloadResult {
    const next = 'problems' in input ? input.config : input;
    if (!next) return refuse((input as LoadResult).problems);
    const old = t.live.current;
    const problems = restartKeys(old, next).map((k) => `${k}: changed, needs a restart (not reloadable)`);
    const defaultName = defaultBackendName(next.backends);
    const resources = mcpResources(next, defaultName);
    const unoffered = t.asEnabled ? [...new Set([...resources.values()].flat())].filter((s) => !offered.has(s)) : [];
    if (unoffered.length) problems.push(`backends: new OAuth scope(s) ${unoffered.join(', ')} in rules need a restart (the authorization server's scope list is fixed at start)`);
    if (problems.length) return refuse(problems);

    const plan = new Map<string, Backend>();
    const fresh: Backend[] = [];
    const adopted: Array<[Backend, BackendConfig]> = [];
    const changed = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    try {
      for (const cfg of next.backends) {
        const was = current.get(cfg.name);
        const same = was && isDeepStrictEqual(was.config, cfg);
        if (!was) changed.added.push(cfg.name);
        else if (!same) changed.changed.push(cfg.name);
        const prior = was?.config;
        if (was && (same || sameTransport(was.config, cfg))) {
          if (!same) {
            was.adopt(cfg);
            adopted.push([was, prior!]);
          }
          plan.set(cfg.name, was);
        } else {
          const b = t.factory(cfg, t.deps);
          fresh.push(b);
          if (was) b.inherit(was);
          plan.set(cfg.name, b);
        }
      }
      t.apiKeys.replace(next.apiKeys);
    } catch (e) {
      for (const b of fresh) void b.close().catch(() => undefined);
      for (const [b, cfg] of adopted) b.adopt(cfg);
      return refuse([(e as Error).message]);
    }
    const now = Date.now();
    for (const [name, b] of current) {
      if (plan.get(name) === b) continue;
      if (!plan.has(name)) changed.removed.push(name);
      retired.push({ name, backend: b, at: now });
    }
    current = plan;
    publish(defaultName);
    t.resources.clear();
    for (const [k, v] of resources) t.resources.set(k, v);
    t.live.current = next;
    if (retired.length && !timer) (timer = setInterval(settle, 1000)).unref();

    const summary = { ...changed, apiKeys: next.apiKeys.length, policy: !isDeepStrictEqual(old.policy, next.policy), tenants: !isDeepStrictEqual(old.tenants, next.tenants) };
    const list = (names: string[]) => `[${names.join(', ')}]`;
    t.log.info({ event: 'config.reloaded', ...summary }, `configuration reloaded: backends added ${list(summary.added)}, removed ${list(summary.removed)}, changed ${list(summary.changed)}; ${summary.apiKeys} API key(s)`);
    for (const w of lintPolicy(next)) t.log.warn({ event: 'config.lint' }, w);
    return { ok: true, changed: summary };
  }

  /** App shutdown: retired backends close now. */
  async function close(): Promise<void> {
    clearInterval(timer);
    const all = retired;
    retired = [];
    await Promise.all(all.map((r) => r.backend.close().catch(() => undefined)));
  }

  return { reload, close };
}

/**
 * What triggers a reload in the CLI: SIGHUP, and with `server.watchConfig` changes to the
 * file (fs.watch on its directory, so editors that replace the file are seen; debounced).
 * Returns a function that removes them.
 */
export function reloadTriggers(o: { file?: string; watchConfig: boolean; load: () => LoadResult; reload: (r: LoadResult) => ReloadResult; log: FastifyBaseLogger; debounceMs?: number }): () => void {
  let unwatch: (() => void) | undefined;
  const run = (trigger: string) => {
    o.log.info({ event: 'config.reload', trigger, file: o.file }, 'reloading the configuration');
    const loaded = o.load();
    if (o.reload(loaded).ok) setWatch(loaded.config!.server.watchConfig);
  };
  const setWatch = (on: boolean) => {
    if (on && !unwatch && o.file) unwatch = watchFile(o.file, () => run('watch'), o.debounceMs ?? 300, o.log);
    if (!on && unwatch) {
      unwatch();
      unwatch = undefined;
    }
  };
  const onHup = () => run('SIGHUP');
  process.on('SIGHUP', onHup);
  setWatch(o.watchConfig);
  return () => {
    process.off('SIGHUP', onHup);
    setWatch(false);
  };
}

function watchFile(file: string, changed: () => void, debounceMs: number, log: FastifyBaseLogger): () => void {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(file), (_event, f) => {
    if (f && f !== name) return;
    clearTimeout(timer);
    timer = setTimeout(changed, debounceMs);
  });
  watcher.on('error', (e) => log.warn({ event: 'config.watch_failed', reason: e.message }, 'watching the config file failed'));
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
