/**
 * Views of the live state for modules that take a live thing as an object rather than reading
 * `live.current` themselves (the bearer source's resources and API keys, the MCP route's
 * config): each call reads the state live now, so a reload reaches them with no copy.
 */
import type { Config } from '../config/load.js';
import { ApiKeys } from '../tokens/apikeys.js';
import type { Principal } from '../identity/principal.js';
import type { Live } from './live-state.js';

/** A ReadonlyMap that is whichever map `current()` returns at each call. */
class LiveMap<K, V> implements ReadonlyMap<K, V> {
  constructor(private readonly current: () => ReadonlyMap<K, V>) {}
  get size(): number {
    return this.current().size;
  }
  get(key: K): V | undefined {
    return this.current().get(key);
  }
  has(key: K): boolean {
    return this.current().has(key);
  }
  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    this.current().forEach((v, k) => fn(v, k, this));
  }
  entries(): MapIterator<[K, V]> {
    return this.current().entries();
  }
  keys(): MapIterator<K> {
    return this.current().keys();
  }
  values(): MapIterator<V> {
    return this.current().values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.current()[Symbol.iterator]();
  }
}

export const liveMap = <K, V>(current: () => ReadonlyMap<K, V>): ReadonlyMap<K, V> => new LiveMap(current);

/** The API key index of the live state (`lookup` and `lookupDigest` read it at each call). */
class LiveApiKeys extends ApiKeys {
  constructor(private readonly current: () => ApiKeys) {
    super([]);
  }
  override get size(): number {
    return this.current().size;
  }
  override lookupDigest(digest: string): Principal | undefined {
    return this.current().lookupDigest(digest);
  }
}

export const liveApiKeys = (current: () => ApiKeys): ApiKeys => new LiveApiKeys(current);

/** `{ current: Config }` following the live state's config (policy.mode is read from it per request). */
export const liveConfig = (live: Live): { readonly current: Config } => ({
  get current() {
    return live.current.config;
  },
});
