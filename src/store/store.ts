/**
 * The Store interface: small keyed values with a time to live. Memory (one process), Redis
 * and PostgreSQL (shared by replicas, sealed at rest) implement it; index.ts picks one.
 */
export interface Store {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
  /** Reachable now (for /readyz); stores in the process always are. */
  ready?(): Promise<boolean>;
}
