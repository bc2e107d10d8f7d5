/**
 * The reverse version bridge (DESIGN §12): a 2025 client (initialize, Mcp-Session-Id, server→client
 * requests) reaching an HTTP backend that speaks only MCP 2026-07-28. The proxy answers
 * `initialize`, `ping` and `logging/setLevel` itself, holds the session, sends every other request
 * stateless (rounds.ts), and turns resource subscriptions into a `subscriptions/listen` stream.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { McpForward } from '../../backends/backend.js';
import { type HomedSession, SessionHomes } from '../../backends/stdio/homes.js';
import { Errors } from '../../errors.js';
import { principalKey } from '../../identity/principal.js';
import { INTERNAL_ERROR, isRequest, rpcError, type RpcMessage } from '../../mcp/jsonrpc.js';
import type { Replicas } from '../../mcp/replicas.js';
import type { SessionIds } from '../../mcp/session-owners.js';
import { discover, type ProtocolSetting, RevisionDetector, type Upstream } from './detect.js';
import { filterFor, listen } from './listen.js';
import { call } from './rounds.js';
import { IDLE_MS, ReverseSession, ReverseSessions } from './session.js';
import { SERVER_INFO_META, sseEvent } from './wire.js';
import { errorCause } from '../../lib/error-cause.js';

/** Marks the session ids this bridge hands out, so routing needs no decryption. */
const MARK = 'r.';
const INVALID_REQUEST = -32600;
/** Wait before opening a listen stream the server ended. */
const RELISTEN_MS = 1000;

/** What a 2025 session needs beyond the client's facts: the server's capabilities, the latest identity headers. */
interface Held {
  server: Record<string, unknown>;
  identity: Record<string, string>;
  /** The listen stream's last change (changes run one after another). */
  listening: Promise<void>;
  /** The session's record for the other replicas (keyed by the id the client holds). */
  home: HomedSession;
}

export class ReverseBridge {
  sessions = new ReverseSessions();
  readonly detector: RevisionDetector;
  private held = new WeakMap<ReverseSession, Held>();
  /** Where sessions live when replicas share a store: a request for one held elsewhere is relayed there. */
  private readonly homes: SessionHomes;
  private successor?: ReverseBridge;

  constructor(
    private readonly backend: string,
    private readonly scope: string,
    private readonly ids: SessionIds,
    private readonly upstream: Upstream,
    setting: ProtocolSetting,
    private readonly replicas?: Replicas,
  ) {
    this.detector = new RevisionDetector(setting, upstream);
    this.homes = new SessionHomes(backend, replicas, () => IDLE_MS + 60_000);
  }

  /** This request belongs here: a session of ours, or a session start at a backend known to be 2026-only. */
  takes(f: McpForward): boolean {
    const id = f.request.sessionId;
    if (id !== undefined) return id.startsWith(MARK);
    return this.detector.only2026 && isInitialize(f);
  }

  async forward(f: McpForward): Promise<void> {
    const { req, reply, request } = f;
    if (request.sessionId === undefined) return this.initialize(f);
    const local = this.ids.open(req, this.scope, request.sessionId.slice(MARK.length), this.backend, f.principal);
    const session = this.sessions.get(local);
    if (!session) return this.homes.relay(req, reply, request.sessionId, f.principal);
    const held = this.held.get(session)!;
    held.identity = f.headers;
    this.homes.renew(held.home);
    if (req.method === 'DELETE') {
      this.sessions.delete(session.id);
      this.replicas?.release(this.backend, request.sessionId);
      return void reply.code(200).send();
    }
    if (req.method === 'GET') return this.openStream(f, session, held);
    return this.post(f, session, held);
  }

  /** `initialize` answered from the server's `server/discover`; the session held here. */
  private async initialize(f: McpForward): Promise<void> {
    const { reply, request, principal } = f;
    const m = request.messages[0];
    if (request.batch || !m || m.method !== 'initialize' || m.id === undefined) {
      return void reply
        .code(400)
        .send(rpcError(null, INVALID_REQUEST, 'Bad Request: Mcp-Session-Id header is required'));
    }
    const params = (m.params ?? {}) as { protocolVersion?: string; capabilities?: object; clientInfo?: unknown };
    const capabilities = (params.capabilities ?? {}) as Record<string, unknown>;
    const found = await discover(this.upstream, f.headers, { capabilities, info: params.clientInfo }).catch(
      () => undefined,
    );
    if (!found) {
      this.detector.forget();
      throw new Errors.BACKEND_UNAVAILABLE(this.backend);
    }
    const session = new ReverseSession(randomUUID(), principalKey(principal), capabilities, params.clientInfo);
    const server = (found.capabilities ?? {}) as Record<string, unknown>;
    const id = MARK + this.ids.issue(this.scope, session.id, principal);
    const home: HomedSession = { http: { id }, link: { principal }, registeredAt: 0 };
    await this.homes.record(home); // fails closed: a session the other replicas cannot find is not started
    this.sessions.add(session);
    this.held.set(session, { server, identity: f.headers, listening: Promise.resolve(), home });
    const requested = params.protocolVersion ?? '';
    const meta = found._meta as Record<string, unknown> | undefined;
    const result = {
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION,
      capabilities: server,
      serverInfo: meta?.[SERVER_INFO_META] ?? { name: this.backend, version: '0.0.0' },
      ...(typeof found.instructions === 'string' ? { instructions: found.instructions } : {}),
    };
    reply.header('mcp-session-id', id);
    reply.type('application/json').send({ jsonrpc: '2.0', id: m.id, result });
  }

  /** The client's GET stream: notifications (list changes, resource updates) arrive on it. */
  private async openStream(f: McpForward, session: ReverseSession, held: Held): Promise<void> {
    const { reply } = f;
    if (session.stream && !session.stream.writableEnded) {
      return void reply.code(409).send(rpcError(null, INVALID_REQUEST, 'Conflict: Only one SSE stream is allowed'));
    }
    const out = new PassThrough();
    session.stream = out;
    reply.raw.once('close', () => {
      out.end();
      if (session.stream !== out) return;
      session.stream = undefined;
      // Nobody hears list changes now: listen for subscribed resources only (or not at all).
      this.relisten(session, held).catch(() => undefined);
    });
    reply
      .code(200)
      .header('content-type', 'text/event-stream')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no');
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    reply.send(out);
    await this.relisten(session, held).catch((e: Error) =>
      f.req.log.warn({ backend: this.backend, reason: errorCause(e) }, 'reverse bridge: listen failed'),
    );
  }

  /** Replaces the session's listen stream with one for what it wants now (the new one acknowledged first). */
  private relisten(session: ReverseSession, held: Held): Promise<void> {
    // One change at a time per session: two at once would leave a stream nobody stops.
    const next = held.listening.then(async () => {
      if (session.ended) return;
      const filter = filterFor(session, held.server);
      const old = session.stopListening;
      const stop = Object.keys(filter).length
        ? await listen(this.upstream, held.identity, session, filter, (lost) => this.listenLost(session, held, lost))
        : undefined;
      // The session may have ended while the server acknowledged (a shutdown right after the GET stream closed).
      if (session.ended) stop?.();
      else session.stopListening = stop;
      old?.();
    });
    held.listening = next.catch(() => undefined);
    return next;
  }

  /** The server ended the session's listen stream: opened again after a second (while the session wants one). */
  private listenLost(session: ReverseSession, held: Held, lost: () => void): void {
    if (session.stopListening !== lost) return;
    session.stopListening = undefined;
    const retry = () => {
      const now = this.latest();
      if (session.stopListening || session.ended || !now.sessions.has(session.id)) return;
      now.relisten(session, held).catch(() => setTimeout(retry, RELISTEN_MS).unref());
    };
    setTimeout(retry, RELISTEN_MS).unref();
  }

  private async post(f: McpForward, session: ReverseSession, held: Held): Promise<void> {
    const { reply, request } = f;
    const messages = f.body ? toList(JSON.parse(f.body.toString('utf8'))) : request.messages;
    const requests: RpcMessage[] = [];
    for (const m of messages) {
      if (isRequest(m)) requests.push(m);
      else if (m.method === undefined) session.answer(m);
      else if (m.method === 'notifications/cancelled') {
        const id = (m.params as { requestId?: string | number } | undefined)?.requestId;
        if (id !== undefined) session.inFlight.get(id)?.abort();
      }
    }
    if (!requests.length) return void reply.code(202).send();
    const out = new PassThrough();
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    reply.code(200).header('content-type', 'text/event-stream').header('cache-control', 'no-cache');
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    reply.send(out);
    const write = (m: RpcMessage) => {
      if (!out.writableEnded) out.write(sseEvent(m));
    };
    await Promise.all(
      requests.map(async (m) => {
        const answer = await this.answer(f, session, held, m, write, abort.signal).catch((e: Error) => {
          if (!abort.signal.aborted) this.detector.forget();
          f.req.log.warn({ backend: this.backend, reason: errorCause(e) }, 'reverse bridge: backend request failed');
          return rpcError(m.id!, INTERNAL_ERROR, `backend "${this.backend}" is unavailable`);
        });
        write(f.rewrite ? f.rewrite(answer) : answer);
      }),
    );
    out.end();
  }

  /** One request: answered here (ping, logging/setLevel, subscribe, unsubscribe) or carried to the backend. */
  private async answer(
    f: McpForward,
    session: ReverseSession,
    held: Held,
    m: RpcMessage,
    out: (m: RpcMessage) => void,
    signal: AbortSignal,
  ): Promise<RpcMessage> {
    const ok = (result: unknown = {}) => ({ jsonrpc: '2.0', id: m.id, result }) as RpcMessage;
    const params = (m.params ?? {}) as { level?: string; uri?: string };
    switch (m.method) {
      case 'ping':
        return ok();
      case 'initialize':
        return rpcError(m.id!, INVALID_REQUEST, 'Invalid Request: Server already initialized') as RpcMessage;
      case 'logging/setLevel':
        session.client.logLevel = params.level;
        return ok();
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        if (typeof params.uri !== 'string') return rpcError(m.id!, -32602, 'uri is required') as RpcMessage;
        if (m.method === 'resources/subscribe') session.subscriptions.add(params.uri);
        else session.subscriptions.delete(params.uri);
        await this.relisten(session, held);
        return ok();
    }
    const inFlight = new AbortController();
    const cut = () => inFlight.abort();
    signal.addEventListener('abort', cut, { once: true });
    session.inFlight.set(m.id!, inFlight);
    try {
      return await call(
        {
          session,
          upstream: this.upstream,
          identity: f.headers,
          out,
          signal: inFlight.signal,
          onRevisionRefused: () => this.detector.forget(),
        },
        m,
      );
    } finally {
      signal.removeEventListener('abort', cut);
      session.inFlight.delete(m.id!);
    }
  }

  /** Reload (same name and URL): the old backend's sessions continue here, on the new pool. */
  inherit(old: ReverseBridge): void {
    this.sessions = old.sessions;
    this.held = old.held;
    this.detector.adopt(old.detector);
    old.successor = this;
  }

  /** The bridge serving this backend now (a reload's replacement; listen streams reopen there). */
  private latest(): ReverseBridge {
    let b: ReverseBridge = this;
    while (b.successor) b = b.successor;
    return b;
  }

  /** Logout everywhere: this user's sessions end. */
  endUser(sub: string): void {
    for (const s of this.sessions.ownedBy(sub)) this.sessions.delete(s.id);
  }

  close(): void {
    this.sessions.endAll();
  }
}

const toList = (v: unknown): RpcMessage[] => (Array.isArray(v) ? v : [v]) as RpcMessage[];

function isInitialize(f: McpForward): boolean {
  const m = f.request.messages[0];
  return f.req.method === 'POST' && !f.request.batch && m?.method === 'initialize';
}
