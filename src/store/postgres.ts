/**
 * PostgreSQL store (pg): one table, created or migrated at start (versions in
 * `mcp_proxy_schema`), values sealed and keys hashed (sealed.ts). Expired rows are never
 * returned and are deleted once a minute. Replicas exchange sealed messages with
 * LISTEN/NOTIFY (logout events), on a connection of their own that comes back by itself.
 */
import pg from 'pg';
import { SealedStore, type Sealer } from './sealed.js';

const NOTIFY_CHANNEL = 'mcp_proxy_events';
const RELISTEN_MS = 1000;

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS mcp_proxy_store (
     key text PRIMARY KEY,
     value text NOT NULL,
     expires_at timestamptz NOT NULL
   )`,
  'CREATE INDEX IF NOT EXISTS mcp_proxy_store_expires ON mcp_proxy_store (expires_at)',
];

export class PostgresStore extends SealedStore {
  readonly pool: pg.Pool;
  private readonly migrated: Promise<void>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    sealer: Sealer,
  ) {
    super(sealer);
    this.pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 3000 });
    this.pool.on('error', () => undefined); // an idle client lost: the pool replaces it
    this.migrated = this.migrate();
    this.migrated.catch(() => undefined);
    this.sweeper = setInterval(() => void this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /**
   * Creates or upgrades the schema (idempotent; one transaction
   * with an advisory lock, so replicas starting together agree).
   */
  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(72616301)');
      await c.query('CREATE TABLE IF NOT EXISTS mcp_proxy_schema (version integer NOT NULL)');
      const { rows } = await c.query<{ version: number }>('SELECT max(version) AS version FROM mcp_proxy_schema');
      const from = rows[0]?.version ?? 0;
      for (let v = from; v < MIGRATIONS.length; v++) await c.query(MIGRATIONS[v]!);
      if (from < MIGRATIONS.length)
        await c.query('INSERT INTO mcp_proxy_schema (version) VALUES ($1)', [MIGRATIONS.length]);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.migrated;
    return this.pool.query<R>(sql, params);
  }

  async getRaw(key: string): Promise<string | undefined> {
    const { rows } = await this.query<{ value: string }>(
      'SELECT value FROM mcp_proxy_store WHERE key = $1 AND expires_at > now()',
      [key],
    );
    return rows[0]?.value;
  }

  async setRaw(key: string, value: string, ttlMs: number): Promise<void> {
    await this.query(
      `INSERT INTO mcp_proxy_store (key, value, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [key, value, ttlMs],
    );
  }

  /**
   * One statement: a concurrent insert of the same key waits for
   * this one, then finds the row (and no expired row blocks it).
   */
  async claimRaw(key: string, value: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.query(
      "INSERT INTO mcp_proxy_store (key, value, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')\n" +
        '       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at ' +
        'WHERE mcp_proxy_store.expires_at <= now()',
      [key, value, ttlMs],
    );
    return rowCount === 1;
  }

  async deleteRaw(key: string): Promise<void> {
    await this.query('DELETE FROM mcp_proxy_store WHERE key = $1', [key]);
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [
      NOTIFY_CHANNEL,
      JSON.stringify({ channel, message: this.sealMessage(channel, message) }),
    ]);
  }

  async subscribe(channel: string, onMessage: (message: unknown) => void): Promise<() => Promise<void>> {
    let closed = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    const again = () => {
      if (!closed) (retry = setTimeout(() => void listen(), RELISTEN_MS)).unref();
    };
    const listen = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000 });
      c.on('error', () => undefined);
      c.on('notification', (n) => {
        let body: { channel?: string; message?: string } | null;
        try {
          body = JSON.parse(n.payload ?? 'null') as { channel?: string; message?: string } | null;
        } catch {
          return;
        }
        if (body?.channel !== channel || typeof body.message !== 'string') return;
        const m = this.openMessage(channel, body.message);
        if (m !== undefined) onMessage(m);
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
      } catch {
        await c.end().catch(() => undefined);
        return again();
      }
      c.on('end', again);
      client = c;
      if (closed) await c.end().catch(() => undefined);
    };
    await listen();
    return async () => {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }

  async sweep(): Promise<void> {
    await this.query('DELETE FROM mcp_proxy_store WHERE expires_at <= now()', []).catch(() => undefined);
  }

  async ready(): Promise<boolean> {
    try {
      await this.query('SELECT 1', []);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.migrated.catch(() => undefined);
    await this.pool.end();
  }
}
