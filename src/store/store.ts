/**
 * The Store interface: small keyed values with a time to live. Memory (one process), Redis
 * and PostgreSQL (shared by replicas, sealed at rest) implement it; index.ts picks one.
 */
export interface Store {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Set `key` if it is not set (atomically, across replicas): true for the one caller that set
   * it, false while it stays set (until its TTL). What "use this once" needs (a consumed token).
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
  /** Reachable now (for /readyz); stores in the process always are. */
  ready?(): Promise<boolean>;
}
