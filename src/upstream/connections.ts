/**
 * Each user's connections to backends with `upstream: {kind: oauth}`: the tokens the
 * backend's own authorization server gave the proxy for that user, kept in the configured
 * store (sealed at rest in Redis and PostgreSQL) under (user, backend). The user is
 * principalKey(principal): the login's `sub` whatever credential a request came with. The
 * list of a user's connections is read from the configured backends, not from an index,
 * so nothing can be lost from one; a connection of a backend no longer configured expires.
 */
import type { Store } from '../store/store.js';

/** One user's connection to one backend (never logged: it holds tokens). */
export interface Connection {
  accessToken: string;
  refreshToken?: string;
  /** ms since epoch; undefined when the authorization server did not say. */
  expiresAt?: number;
  scopes: string[];
  /** The authorization server that issued the tokens, and the client the proxy was there. */
  issuer: string;
  clientId: string;
  /** ms since epoch. */
  connectedAt: number;
}

/** How long a connection is kept without use; refreshed on each save. */
export const CONNECTION_TTL_MS = 90 * 24 * 3600_000;

export const connectionKey = (user: string, backend: string) => `upstream-connection:${backend}\0${user}`;

export class Connections {
  constructor(
    private readonly store: Store,
    private readonly ttlMs = CONNECTION_TTL_MS,
  ) {}

  get(user: string, backend: string): Promise<Connection | undefined> {
    return this.store.get<Connection>(connectionKey(user, backend));
  }

  async save(user: string, backend: string, c: Connection): Promise<void> {
    await this.store.set(connectionKey(user, backend), c, this.ttlMs);
  }

  async remove(user: string, backend: string): Promise<void> {
    await this.store.delete(connectionKey(user, backend));
  }

  /** The user's connection (or none) to each of `backends`, in their order. */
  async list(user: string, backends: readonly string[]): Promise<{ backend: string; connection?: Connection }[]> {
    return Promise.all(backends.map(async (backend) => ({ backend, connection: await this.get(user, backend) })));
  }
}
