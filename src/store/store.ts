/**
 * The Store interface: small keyed values with a time to live. Memory now; Redis and
 * PostgreSQL implement the same interface (one factory, one interface per concern).
 */
export interface Store {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
