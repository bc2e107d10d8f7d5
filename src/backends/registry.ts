/**
 * Backends by name, and the default one served at `/mcp`: the one marked default, or the only one.
 * A `BackendSet` is one immutable set (part of the live state, src/app/live-state.ts); a reload
 * builds a new one. `BackendRegistry` reads whichever set is live now.
 */
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import type { Backend } from './backend.js';
import { HttpBackend } from './http.js';
import { StdioBackend, type StdioBackendDeps } from './stdio/backend.js';
import type { OutboundTls } from '../lib/outbound-tls.js';

/** What a backend is built with: the stdio deps, and the outbound TLS (`tls.ca`) of HTTP backends. */
export type BackendDeps = StdioBackendDeps & { tls?: OutboundTls };
export type BackendFactory = (cfg: Config['backends'][number], deps: BackendDeps) => Backend;

export const defaultFactory: BackendFactory = (cfg, deps) =>
  cfg.http ? new HttpBackend(cfg, deps.sessionIds, deps.replicas, deps.tls) : new StdioBackend(cfg, deps);

/** The backend served at `/mcp`: the one marked default, or the only one. */
export const defaultBackendName = (backends: Config['backends']): string | undefined =>
  backends.find((b) => b.default)?.name ?? (backends.length === 1 ? backends[0]!.name : undefined);

export class BackendSet {
  constructor(
    private readonly byName: ReadonlyMap<string, Backend>,
    readonly defaultName: string | undefined,
    /** Backends a reload removed that still serve the sessions they hold (src/app/reload.ts); never listed. */
    private readonly retiring: ReadonlyMap<string, Backend> = new Map(),
  ) {}

  get(name: string): Backend {
    const b = this.byName.get(name) ?? this.retiring.get(name);
    if (!b) throw new Errors.BACKEND_NOT_FOUND(name);
    return b;
  }

  getDefault(): Backend {
    if (!this.defaultName)
      throw new Errors.BACKEND_NOT_FOUND('(default) — several backends are configured: use /mcp/<name>');
    return this.get(this.defaultName);
  }

  /** A configured backend of that name (what a reload removed no longer counts). */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): Backend[] {
    return [...this.byName.values()];
  }
}

/**
 * The live backend set, read at each call: a reload swaps the
 * set, a request that already picked a backend finishes on it.
 */
export class BackendRegistry {
  constructor(private readonly current: () => BackendSet) {}

  get defaultName(): string | undefined {
    return this.current().defaultName;
  }

  get(name: string): Backend {
    return this.current().get(name);
  }

  getDefault(): Backend {
    return this.current().getDefault();
  }

  has(name: string): boolean {
    return this.current().has(name);
  }

  all(): Backend[] {
    return this.current().all();
  }

  async endUser(sub: string): Promise<void> {
    await Promise.all(this.all().map((b) => b.endUser(sub)));
  }

  async drain(): Promise<void> {
    await Promise.all(this.all().map((b) => b.drain()));
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((b) => b.close()));
  }
}
