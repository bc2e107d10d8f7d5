/**
 * Configuration reload without downtime (SIGHUP, or `server.watchConfig`: ./triggers.ts).
 *
 * Live: `backends`, `policy`, `tenants`, `apiKeys`. A reload builds the next live state with
 * the same function as the start (./live-state.ts) and swaps it in by one reference
 * assignment; nothing is copied per request. Every other key needs a restart: a reload that
 * changes one is refused whole, naming the keys, and the old config stays; so is a config
 * with problems, with every problem named.
 *
 * Backends a reload replaces or removes retire: an HTTP backend is closed after a grace of
 * `server.shutdownTimeout` (requests that already picked it) and its in-flight requests; a
 * stdio backend keeps serving the MCP sessions it holds until they end (client DELETE, logout,
 * idleTimeout), then its processes stop. A removed name answers only the sessions its retired
 * backends still hold. See docs/ARCHITECTURE.md, "Live state and reload".
 */
import { isDeepStrictEqual } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import type { Config, LoadResult } from '../config/load.js';
import { restartKeys } from '../config/live-keys.js';
import type { Backend } from '../backends/backend.js';
import { Handover } from '../backends/handover.js';
import { BackendSet } from '../backends/registry.js';
import { configWarnings } from './config.js';
import { resourcesOf, type BackendChanges, type LiveState, type NextState } from './live-state.js';

export interface ReloadResult {
  ok: boolean;
  problems?: string[];
  changed?: BackendChanges & { apiKeys: number; policy: boolean; tenants: boolean };
}

export interface ReloaderOptions {
  /** The live state; the reloader assigns `current`. */
  live: { current: LiveState };
  /** The live state for a config (./live-state.ts `nextLiveState`, with this app's backend factory). */
  next(config: Config, prior: LiveState): NextState;
  /** The authorization server is on: its scope list is fixed at start. */
  asEnabled: boolean;
  log: FastifyBaseLogger;
}

interface Retired {
  name: string;
  backend: Backend;
  at: number;
}

/** The backends requests see: the served ones, wrapped while older ones of the same name hold sessions. */
function withHandovers(s: LiveState, retired: readonly Retired[]): BackendSet {
  const holding = new Map<string, Backend[]>();
  for (const r of retired)
    if (r.backend.keepsSessions) holding.set(r.name, [...(holding.get(r.name) ?? []), r.backend]);
  const byName = new Map(
    [...s.served].map(([name, b]) => [name, holding.has(name) ? new Handover(name, b, holding.get(name)!) : b]),
  );
  const gone = new Map(
    [...holding]
      .filter(([name]) => !s.served.has(name))
      .map(([name, old]) => [name, new Handover(name, undefined, old) as Backend]),
  );
  return new BackendSet(byName, s.backends.defaultName, gone);
}

export function createReloader(o: ReloaderOptions) {
  const { live, log } = o;
  let retired: Retired[] = [];
  let timer: NodeJS.Timeout | undefined;
  const offered = new Set([...live.current.resources.values()].flat());

  /** The same state with the backends requests see now (after retirees were added or closed). */
  function publish(state: LiveState): void {
    live.current = Object.freeze({ ...state, backends: withHandovers(state, retired) });
  }

  /** Close retired backends whose grace is over and that hold no session. */
  function settle(): void {
    const grace = live.current.config.server.shutdownTimeout;
    const done = retired.filter(
      (r) => Date.now() - r.at >= grace && (!r.backend.keepsSessions || r.backend.stats().sessions === 0),
    );
    if (!done.length) return;
    retired = retired.filter((r) => !done.includes(r));
    for (const r of done) {
      log.info({ event: 'backend.retired', backend: r.name }, 'retired backend closed');
      void r.backend.close().catch(() => undefined);
    }
    publish(live.current);
    if (!retired.length) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  function refuse(problems: string[]): ReloadResult {
    log.error(
      { event: 'config.reload.refused', problems },
      `configuration reload refused, the running config stays: ${problems.join('; ')}`,
    );
    return { ok: false, problems };
  }

  /**
   * Problems that refuse a valid config: keys that need a restart,
   * OAuth scopes the authorization server does not offer.
   */
  function notLive(old: Config, config: Config): string[] {
    const problems = restartKeys(old, config).map((k) => `${k}: changed, needs a restart (not reloadable)`);
    const unoffered = o.asEnabled
      ? [...new Set([...resourcesOf(config).values()].flat())].filter((s) => !offered.has(s))
      : [];
    if (unoffered.length)
      problems.push(
        `backends: new OAuth scope(s) ${unoffered.join(', ')} in rules need a restart (the authorization ` +
          `server's scope list is fixed at start)`,
      );
    return problems;
  }

  function reload(input: Config | LoadResult): ReloadResult {
    const config = 'problems' in input ? input.config : input;
    if (!config) return refuse((input as LoadResult).problems);
    const prior = live.current;
    const problems = notLive(prior.config, config);
    if (problems.length) return refuse(problems);
    let next: NextState;
    try {
      next = o.next(config, prior);
    } catch (e) {
      return refuse([(e as Error).message]);
    }
    next.commit();
    const now = Date.now();
    retired.push(...next.replaced.map((r) => ({ ...r, at: now })));
    publish(next.state);
    if (retired.length && !timer) (timer = setInterval(settle, 1000)).unref();

    const summary = {
      ...next.changes,
      apiKeys: config.apiKeys.length,
      policy: !isDeepStrictEqual(prior.config.policy, config.policy),
      tenants: !isDeepStrictEqual(prior.config.tenants, config.tenants),
    };
    const list = (names: string[]) => `[${names.join(', ')}]`;
    log.info(
      { event: 'config.reloaded', ...summary },
      `configuration reloaded: backends added ${list(summary.added)}, removed ${list(summary.removed)}, changed ` +
        `${list(summary.changed)}; ${summary.apiKeys} API key(s)`,
    );
    for (const w of configWarnings(config)) log.warn({ event: 'config.lint' }, w);
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
