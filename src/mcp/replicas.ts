/**
 * MCP sessions that live in one replica (stdio backends: the child process is there), reached
 * from any replica. The replica that creates a session records `{replica, sub}` in the shared
 * Store under its session id; a replica that receives a request for a session it does not hold
 * looks the owner up and relays the request (body, headers, streamed answer, SSE included) to
 * the owner's `server.advertiseUrl`. The owner authenticates the client's credential again, as
 * for any request; the relay adds `X-MCP-Proxy-Replica` (an HMAC over time and session id
 * with a key derived from `session.keys`) so the owner serves it itself and never relays it
 * on. An owner that cannot be reached loses the record: the client gets 404 and initializes
 * again, as MCP clients do.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'undici';
import { Errors } from '../errors.js';
import { safeEqualHex } from '../lib/crypto.js';
import { relayHead } from '../backends/relay.js';
import { hopByHopAnd } from '../lib/hop-by-hop.js';
import type { Store } from '../store/store.js';

export const REPLICA_HEADER = 'x-mcp-proxy-replica';
const MAX_SKEW_MS = 60_000;
/** Request headers not relayed to the owner: hop-by-hop ones, and a replica header the client sent. */
const DROP = hopByHopAnd('host', REPLICA_HEADER);

export interface SessionHome {
  replica: string;
  sub: string;
}

export class Replicas {
  private readonly key: Buffer;
  private readonly pools = new Map<string, Pool>();

  /** `self`: this replica's advertised URL; `secret`: base64 key material (session.keys[0]). */
  constructor(
    private readonly store: Store,
    readonly self: string,
    secret: string,
    /** The CAs of every outbound call (`tls.ca`, src/lib/outbound-tls.ts): another replica's https advertiseUrl. */
    private readonly ca?: string[],
  ) {
    this.key = Buffer.from(
      hkdfSync('sha256', Buffer.from(secret, 'base64'), Buffer.alloc(0), 'mcp-oidc-proxy replicas', 32),
    );
  }

  private recordKey(backend: string, sessionId: string): string {
    return `mcp-session:${backend}:${sessionId}`;
  }

  async register(backend: string, sessionId: string, sub: string, ttlMs: number): Promise<void> {
    await this.store
      .set(this.recordKey(backend, sessionId), { replica: this.self, sub } satisfies SessionHome, ttlMs)
      .catch(() => {
        throw new Errors.STORE_UNAVAILABLE();
      });
  }

  release(backend: string, sessionId: string): void {
    void this.store.delete(this.recordKey(backend, sessionId)).catch(() => undefined);
  }

  async lookup(backend: string, sessionId: string): Promise<SessionHome | undefined> {
    return this.store.get<SessionHome>(this.recordKey(backend, sessionId)).catch(() => {
      throw new Errors.STORE_UNAVAILABLE();
    });
  }

  private mac(ts: string, sessionId: string): string {
    return createHmac('sha256', this.key).update(`${ts}.${sessionId}`).digest('hex');
  }

  /** True when another replica relayed this request (valid, recent HMAC for this session). */
  relayed(req: FastifyRequest, sessionId: string): boolean {
    const h = req.headers[REPLICA_HEADER];
    if (typeof h !== 'string') return false;
    const [ts, mac] = h.split('.');
    if (!ts || !mac || Math.abs(Date.now() - Number(ts)) > MAX_SKEW_MS) return false;
    return safeEqualHex(mac, this.mac(ts, sessionId));
  }

  /** Relay the request to the replica that holds the session; 404 (and the record dropped) when it is gone. */
  async relay(
    req: FastifyRequest,
    reply: FastifyReply,
    backend: string,
    sessionId: string,
    home: SessionHome,
  ): Promise<void> {
    const target = new URL(home.replica);
    let pool = this.pools.get(target.origin);
    if (!pool)
      this.pools.set(
        target.origin,
        (pool = new Pool(target.origin, { connections: 64, connect: { timeout: 2000, ca: this.ca } })),
      );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined && !DROP.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const ts = String(Date.now());
    headers[REPLICA_HEADER] = `${ts}.${this.mac(ts, sessionId)}`;
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      const body = req.body as Buffer | undefined;
      res = await pool.request({
        method: req.method as 'GET' | 'POST' | 'DELETE',
        path: req.url,
        headers,
        body: body?.length ? body : undefined,
        bodyTimeout: 0,
        signal: abort.signal,
      });
    } catch (e) {
      req.log.warn(
        {
          event: 'replica.unreachable',
          backend,
          replica: target.origin,
          reason: (e as { code?: string }).code ?? (e as Error).message,
        },
        'the replica holding this MCP session is gone: session dropped',
      );
      this.release(backend, sessionId);
      throw new Errors.MCP_SESSION_NOT_FOUND();
    }
    relayHead(reply, res);
    for (const c of [res.headers['set-cookie'] ?? []].flat()) reply.raw.appendHeader('set-cookie', c);
    await reply.send(res.body);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => p.destroy())));
  }
}
