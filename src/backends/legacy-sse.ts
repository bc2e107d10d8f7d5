/**
 * A 2024-11-05 HTTP+SSE backend served to clients as streamable HTTP: each client MCP session
 * (created by its initialize POST, id sealed with its owner like every HTTP backend's) gets one
 * upstream SSE stream of its own, closed when the session is deleted, idles out or its owner
 * logs out. Client POSTs go to the stream's endpoint one message at a time; what the server
 * sends comes back as described in sse-session.ts.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { Pool } from 'undici';
import type { BackendConfig } from '../config/schema.js';
import { Errors } from '../errors.js';
import { type Principal, principalKey } from '../identity/principal.js';
import { isRequest, parseJson, type RpcMessage, rpcError, toMessages } from '../mcp/jsonrpc.js';
import type { Replicas } from '../mcp/replicas.js';
import type { SessionIds } from '../mcp/session-owners.js';
import { type HomedSession, SessionHomes } from './stdio/homes.js';
import { backendTimer } from '../observability/request-facts.js';
import type { McpForward } from './backend.js';
import { relayHead } from './relay.js';
import { ClientSession, type Waiter } from './sse-session.js';
import { SseUpstream, type UpstreamAnswer } from './sse-upstream.js';
import { HeldBridges } from '../bridge/held.js';
import { SseBridged } from './sse-bridged.js';

export interface LegacySseOptions {
  name: string;
  http: NonNullable<BackendConfig['http']>;
  ids: SessionIds;
  /** The backend's pool, for POSTs. */
  posts: Pool;
  /** The backend's connect options (timeout, TLS: src/lib/outbound-tls.ts), for the SSE streams' pool. */
  connect?: Pool.Options['connect'];
  /** An upstream failure as the proxy's error (timeout, unavailable). */
  mapError: (e: Error, log: McpForward['req']['log']) => Error;
  /** Replicas sharing a store: a session is recorded with its home and relayed there from the others. */
  replicas?: Replicas;
}

/** How long a probing `auto` backend waits for the `endpoint` event (HTTP+SSE servers send it at once). */
const PROBE_MS = 3000;

/** `auto`: the streamable answer that suggested HTTP+SSE, relayed when the server does not speak that either. */
export interface Probe {
  answer: UpstreamAnswer;
  /** The SSE stream opened: the server speaks HTTP+SSE. */
  found: () => void;
}

export class LegacySse {
  /** What sealed session ids are bound to (not the streamable ones: another transport, another scope). */
  readonly scope: string;
  private readonly url: URL;
  private readonly streams: Pool;
  private readonly sessions = new Map<string, ClientSession>();
  private readonly bySealed = new Map<string, ClientSession>();
  /** Where each session lives, for the other replicas (keyed by the sealed id the client presents). */
  private readonly homes: SessionHomes;
  private readonly homed = new WeakMap<ClientSession, HomedSession>();
  /** MCP 2026-07-28 clients: the version bridge, one upstream HTTP+SSE session per principal (sse-bridged.ts). */
  readonly bridges: HeldBridges;

  constructor(private readonly o: LegacySseOptions) {
    this.url = new URL(o.http.url);
    this.homes = new SessionHomes(o.name, o.replicas, () => o.http.idleTimeout + 60_000);
    this.scope = `mcp-sse-session:${o.name}:${this.url.href}`;
    // One long-lived GET per client session: no connection cap (the POST pool keeps its own).
    const connect = o.connect ?? { timeout: o.http.connectTimeout };
    this.streams = new Pool(this.url.origin, { connect, keepAliveTimeout: 30_000 });
    const { url, streams } = this;
    this.bridges = new HeldBridges({
      create: () => new SseBridged({ url, streams, posts: o.posts, timeout: o.http.timeout, endpointWithin: PROBE_MS }),
      resumeTimeoutMs: () => o.http.timeout,
      idleMs: () => o.http.idleTimeout,
    });
  }

  /** Client sessions open now, and bridged principals. */
  get size(): number {
    return this.sessions.size + this.bridges.size;
  }

  holds(sealed: string): boolean {
    return this.bySealed.has(sealed);
  }

  async forward(f: McpForward, body: Buffer | undefined, probe?: Probe): Promise<void> {
    const { req, reply, principal, request } = f;
    const sent = body === request.raw && request.messages.length ? undefined : toMessages(parseJson(body)?.value);
    const msgs = sent?.messages ?? request.messages;
    if (request.sessionId === undefined) {
      if (request.method === 'POST' && msgs.some((m) => m.method === 'initialize'))
        return this.initialize(f, msgs, body, probe);
      return void reply
        .code(400)
        .type('application/json')
        .send(rpcError(null, -32000, 'Bad Request: Mcp-Session-Id header is required'));
    }
    const id = this.o.ids.open(req, this.scope, request.sessionId, this.o.name, principal);
    const s = this.sessions.get(id);
    // Held by another replica: relayed there (it authenticates the client again), else 404.
    if (!s) return this.homes.relay(req, reply, request.sessionId, principal);
    s.touch();
    const home = this.homed.get(s);
    if (home) this.homes.renew(home);
    if (request.method === 'DELETE') {
      s.close();
      return void reply.code(200).send();
    }
    if (request.method === 'GET') return this.stream(s, reply);
    return this.post(s, f, msgs, sent?.batch ?? request.batch, body);
  }

  private async initialize(
    f: McpForward,
    msgs: readonly RpcMessage[],
    body: Buffer | undefined,
    probe?: Probe,
  ): Promise<void> {
    const { req, reply, principal, headers } = f;
    const id = randomUUID();
    const sealed = this.o.ids.issue(this.scope, id, principal);
    const s = new ClientSession(id, sealed, principalKey(principal), this.o.http.idleTimeout, (x) => {
      this.sessions.delete(x.id);
      this.bySealed.delete(x.sealed);
      if (this.homed.has(x)) this.o.replicas?.release(this.o.name, x.sealed);
    });
    s.upstream = new SseUpstream({
      url: this.url,
      streams: this.streams,
      posts: this.o.posts,
      timeout: this.o.http.timeout,
      onMessage: (m) => s.route(m),
      onClose: () => s.close(),
    });
    let refused: UpstreamAnswer | undefined;
    try {
      // A probe asks a server that may well be a streamable one: its GET stream has no endpoint event.
      refused = await s.upstream.open(headers, probe ? Math.min(this.o.http.timeout, PROBE_MS) : undefined);
    } catch (e) {
      s.close();
      if (probe) return this.relay(reply, probe.answer);
      throw this.o.mapError(e as Error, req.log);
    }
    if (refused) return this.relay(reply, probe?.answer ?? refused);
    probe?.found();
    this.sessions.set(id, s);
    this.bySealed.set(sealed, s);
    const home: HomedSession = { http: { id: sealed }, link: { principal }, registeredAt: 0 };
    try {
      // Fails closed: a session the other replicas could not find is not handed out.
      await this.homes.record(home);
    } catch (e) {
      s.close();
      throw e;
    }
    if (this.o.replicas) this.homed.set(s, home);
    req.log.info({ event: 'mcp.legacy_sse_open', backend: this.o.name }, 'upstream HTTP+SSE stream opened');
    return this.post(s, f, msgs, false, body, sealed);
  }

  /** The client's messages, one POST each, to the endpoint; its requests answered on an SSE response. */
  private async post(
    s: ClientSession,
    { req, reply, headers, rewrite }: McpForward,
    msgs: readonly RpcMessage[],
    batch: boolean,
    body: Buffer | undefined,
    issued?: string,
  ): Promise<void> {
    const requests = msgs.filter(isRequest);
    const w: Waiter | undefined = requests.length
      ? { out: new PassThrough(), pending: new Set(requests.map((r) => r.id)), tokens: [], rewrite }
      : undefined;
    if (w) {
      s.wait(w, requests);
      // The client gone (even before the upstream took the message): its requests wait no more.
      reply.raw.once('close', () => s.forget(w));
    }
    const failed = (): void => {
      if (w) s.forget(w);
      if (issued) s.close();
    };
    const answered = backendTimer(req);
    for (const m of msgs) {
      let answer: UpstreamAnswer;
      try {
        answer = await s.upstream.post(
          !batch && msgs.length === 1 && body ? body : Buffer.from(JSON.stringify(m)),
          headers,
        );
      } catch (e) {
        failed();
        throw this.o.mapError(e as Error, req.log);
      }
      if (answer.statusCode >= 300) {
        failed();
        // The server forgot the session: so does the proxy, and the client initializes again.
        if (answer.statusCode === 404 && !issued) {
          s.close();
          throw new Errors.MCP_SESSION_NOT_FOUND();
        }
        return this.relay(reply, answer);
      }
    }
    // The upstream took every message (answers come on the stream: this is its latency to accept them).
    answered();
    if (issued) reply.header('mcp-session-id', issued);
    if (!w) return void reply.code(202).send();
    return this.sendStream(reply, w.out);
  }

  /** The client's GET stream: server→client messages not tied to a POST. One per session. */
  private async stream(s: ClientSession, reply: FastifyReply): Promise<void> {
    if (s.stream) {
      reply.code(409).type('application/json');
      return void (await reply.send(rpcError(null, -32000, 'Conflict: only one SSE stream is allowed per session')));
    }
    const out = new PassThrough();
    s.attach(out);
    reply.raw.once('close', () => out.destroy());
    return this.sendStream(reply, out);
  }

  private async sendStream(reply: FastifyReply, out: PassThrough): Promise<void> {
    reply.code(200).header('content-type', 'text/event-stream').header('cache-control', 'no-cache');
    reply.header('x-accel-buffering', 'no');
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    await reply.send(out);
  }

  private async relay(reply: FastifyReply, answer: UpstreamAnswer): Promise<void> {
    relayHead(reply, answer);
    await reply.send(answer.body);
  }

  /** `auto`: whether the server speaks HTTP+SSE, found by opening the principal's bridged session. */
  async bridgeable(principal: Principal, headers: Record<string, string>): Promise<boolean> {
    try {
      await this.bridges.get(principal, headers).up.ready();
      return true;
    } catch {
      return false;
    }
  }

  /** Logout: the user's sessions end (their upstream streams close). */
  endUser(sub: string): Promise<void> {
    for (const s of [...this.sessions.values()]) if (s.owner === sub) s.close();
    return this.bridges.endUser(sub);
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) s.close();
    await this.bridges.endAll();
    await this.streams.close().catch(() => this.streams.destroy());
  }
}
