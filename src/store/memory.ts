/**
 * In-process store: bounded (least recently used entries go first) so no input can exhaust
 * memory, in two spaces. What anyone can make the proxy write without logging in — clients
 * registered at /reg or fetched as metadata documents, interactions (one per /auth), device
 * and user codes — lives in a space of its own: no flood of those can evict a session record,
 * a grant, a token or an index of them. An entry evicted from either space is simply gone,
 * and gone security state is refused (records are positive: see session/tokens.ts,
 * authz-server/live-grants.ts).
 */
import type { Store } from './store.js';

/** Keys the authorization server writes for anonymous requests (adapter.ts names them `as:<Model>:<id>`). */
export const ANONYMOUS_PREFIXES: readonly string[] = [
  'as:Client:',
  'as:RegistrationAccessToken:',
  'as:Interaction:',
  'as:DeviceCode:',
  'as:usercode:',
  'as:PushedAuthorizationRequest:',
  'as:ReplayDetection:',
  // DPoP proof ids at the resource (tokens/dpop.ts): one per request, like the AS's replay records.
  'dpop:jti:',
];

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  peek(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): boolean {
    return this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}

type Entry = { value: unknown; expires: number };

export class MemoryStore implements Store {
  private readonly entries: BoundedMap<string, Entry>;
  private readonly anonymous: BoundedMap<string, Entry>;
  /** `maxEntries` bounds each space; `anonymousPrefixes` name the keys of the anonymous one. */
  constructor(
    maxEntries = 100_000,
    private readonly now: () => number = Date.now,
    private readonly anonymousPrefixes: readonly string[] = ANONYMOUS_PREFIXES,
  ) {
    this.entries = new BoundedMap(maxEntries);
    this.anonymous = new BoundedMap(maxEntries);
  }
  private space(key: string): BoundedMap<string, Entry> {
    return this.anonymousPrefixes.some((p) => key.startsWith(p)) ? this.anonymous : this.entries;
  }
  async get<T>(key: string): Promise<T | undefined> {
    const space = this.space(key);
    const e = space.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      space.delete(key);
      return undefined;
    }
    return structuredClone(e.value) as T;
  }
  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    this.space(key).set(key, { value: structuredClone(value), expires: this.now() + ttlMs });
  }
  async delete(key: string): Promise<void> {
    this.space(key).delete(key);
  }
  /** Atomic: the check and the write happen in one synchronous step. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const space = this.space(key);
    const e = space.peek(key);
    if (e && e.expires > this.now()) return false;
    space.set(key, { value: true, expires: this.now() + ttlMs });
    return true;
  }
  async close(): Promise<void> {
    this.entries.clear();
    this.anonymous.clear();
  }
}
