/**
 * MCP sessions the proxy holds for the REST API and the explorer: a real SDK client whose
 * requests go through this proxy's own `/mcp/<backend>` route (Fastify inject) carrying the
 * caller's own credential — so identity, policy, audit and backends are exactly those of any
 * MCP client; there is no second path. One session per (credential, backend), reused, closed
 * when idle.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { sha256Hex } from '../lib/crypto.js';
import { DPOP_RELAY_HEADER, dpopRelayMark } from '../tokens/dpop.js';

const IDLE_MS = 5 * 60_000;

/** fetch over `app.inject`: no network hop. GET streams are declined (the REST API needs no server push). */
function injectFetch(app: FastifyInstance, credential: Record<string, string>): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET') return new Response(null, { status: 405 });
    const headers: Record<string, string> = {
      ...Object.fromEntries(new Headers(init?.headers).entries()),
      ...credential,
    };
    const res = await app.inject({
      method: method as 'POST' | 'DELETE',
      url: url.pathname + url.search,
      headers,
      payload: typeof init?.body === 'string' ? init.body : undefined,
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined && k !== 'set-cookie') out.set(k, Array.isArray(v) ? v.join(', ') : String(v));
    return new Response(res.statusCode === 202 || res.statusCode === 204 ? null : res.rawPayload, {
      status: res.statusCode,
      headers: out,
    });
  }) as typeof fetch;
}

interface Held {
  client: Client;
  transport: StreamableHTTPClientTransport;
  timer: NodeJS.Timeout;
}

export class RestMcpClients {
  private readonly held = new Map<string, Promise<Held>>();
  /** Browser session id → the keys of its MCP sessions, closed at logout. */
  private readonly bySession = new Map<string, Set<string>>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly publicUrl: string,
  ) {}

  /**
   * The caller's credential headers: what the internal request authenticates with. A DPoP proof is for
   * the `/api` URL it was checked at: the internal request says so with a MAC of the token instead.
   */
  static credential(headers: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of ['cookie', 'authorization', 'x-api-key'])
      if (typeof headers[k] === 'string') out[k] = headers[k] as string;
    const dpopToken = out.authorization?.match(/^DPoP\s+(\S+)\s*$/i)?.[1];
    if (dpopToken) out[DPOP_RELAY_HEADER] = dpopRelayMark(dpopToken);
    return out;
  }

  async client(backend: string, credential: Record<string, string>, sessionId?: string): Promise<Client> {
    const key = `${backend}\0${sha256Hex(JSON.stringify(credential))}`;
    let entry = this.held.get(key);
    if (!entry) {
      if (sessionId)
        (this.bySession.get(sessionId) ?? this.bySession.set(sessionId, new Set()).get(sessionId)!).add(key);
      entry = this.open(backend, credential, key);
      this.held.set(key, entry);
      entry.catch(() => this.held.delete(key));
    }
    const held = await entry;
    held.timer.refresh();
    return held.client;
  }

  private async open(backend: string, credential: Record<string, string>, key: string): Promise<Held> {
    const transport = new StreamableHTTPClientTransport(new URL(`${this.publicUrl}/mcp/${backend}`), {
      fetch: injectFetch(this.app, { ...credential, host: new URL(this.publicUrl).host }),
    });
    const client = new Client({ name: 'mcp-oidc-proxy-rest', version: '1' });
    await client.connect(transport);
    const timer = setTimeout(() => void this.drop(key), IDLE_MS);
    timer.unref();
    return { client, transport, timer };
  }

  /** A session whose credential stopped working is dropped so the next call starts afresh. */
  async drop(key: string): Promise<void> {
    const entry = this.held.get(key);
    this.held.delete(key);
    const held = await entry?.catch(() => undefined);
    if (held) {
      clearTimeout(held.timer);
      await held.transport.terminateSession().catch(() => undefined); // DELETE: the backend ends its session too
      await held.client.close().catch(() => undefined);
    }
  }

  async dropFor(backend: string, credential: Record<string, string>): Promise<void> {
    await this.drop(`${backend}\0${sha256Hex(JSON.stringify(credential))}`);
  }

  /** Logout: close every MCP session held for this browser session. */
  async endSession(sessionId: string): Promise<void> {
    const keys = this.bySession.get(sessionId);
    this.bySession.delete(sessionId);
    await Promise.all([...(keys ?? [])].map((k) => this.drop(k)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.held.keys()].map((k) => this.drop(k)));
  }
}
