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
  /**
   * A message to every replica sharing this store (Redis pub/sub,
   * PostgreSQL NOTIFY); absent when the store is this process's own.
   */
  publish?(channel: string, message: unknown): Promise<void>;
  /**
   * Calls `onMessage` for every message published on `channel`
   * by any replica; resolves to a function that stops listening.
   */
  subscribe?(channel: string, onMessage: (message: unknown) => void): Promise<() => Promise<void>>;
}

/** How long a replica trusts a record it confirmed (a session, a grant) before reading it again. */
export const RECHECK_MS = 5000;
