/** Backends by name, and the default one served at `/mcp`: the one marked default, or the only one. */
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import type { Backend } from './backend.js';
import { HttpBackend } from './http.js';
import { StdioBackend, type StdioBackendDeps } from './stdio/backend.js';

export type BackendFactory = (cfg: Config['backends'][number], deps: StdioBackendDeps) => Backend;

export const defaultFactory: BackendFactory = (cfg, deps) => (cfg.http ? new HttpBackend(cfg, deps.sessionIds) : new StdioBackend(cfg, deps));

/** The backend served at `/mcp`: the one marked default, or the only one. */
export const defaultBackendName = (backends: Config['backends']): string | undefined => backends.find((b) => b.default)?.name ?? (backends.length === 1 ? backends[0]!.name : undefined);

export class BackendRegistry {
  private byName = new Map<string, Backend>();
  /** Backends a reload removed that still serve the sessions they hold (src/config/reload.ts); never listed. */
  private retiring: ReadonlyMap<string, Backend> = new Map();
  defaultName?: string;

  constructor(backends: Config['backends'], deps: StdioBackendDeps, factory: BackendFactory = defaultFactory) {
    for (const b of backends) this.byName.set(b.name, factory(b, deps));
    this.defaultName = defaultBackendName(backends);
  }

  /** Reload: the new set in one reference swap; a request that already picked a backend finishes on it. */
  swap(byName: Map<string, Backend>, defaultName: string | undefined, retiring: ReadonlyMap<string, Backend>): void {
    this.byName = byName;
    this.retiring = retiring;
    this.defaultName = defaultName;
  }

  get(name: string): Backend {
    const b = this.byName.get(name) ?? this.retiring.get(name);
    if (!b) throw new Errors.BACKEND_NOT_FOUND(name);
    return b;
  }

  getDefault(): Backend {
    if (!this.defaultName) throw new Errors.BACKEND_NOT_FOUND('(default) — several backends are configured: use /mcp/<name>');
    return this.get(this.defaultName);
  }

  /** A configured backend of that name (what a reload removed no longer counts). */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): Backend[] {
    return [...this.byName.values()];
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
