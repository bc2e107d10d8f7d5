/** In-process store: bounded (least recently used entries go first) so no input can exhaust memory. */
import type { Store } from './store.js';

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

export class MemoryStore implements Store {
  private readonly entries: BoundedMap<string, { value: unknown; expires: number }>;
  constructor(maxEntries = 100_000, private readonly now: () => number = Date.now) {
    this.entries = new BoundedMap(maxEntries);
  }
  async get<T>(key: string): Promise<T | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return structuredClone(e.value) as T;
  }
  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    this.entries.set(key, { value: structuredClone(value), expires: this.now() + ttlMs });
  }
  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
  /** Atomic: the check and the write happen in one synchronous step. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const e = this.entries.peek(key);
    if (e && e.expires > this.now()) return false;
    this.entries.set(key, { value: true, expires: this.now() + ttlMs });
    return true;
  }
  async close(): Promise<void> {
    this.entries.clear();
  }
}
