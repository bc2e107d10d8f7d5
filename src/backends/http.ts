/**
 * HTTP backends: streamable HTTP forwarded with undici, bodies streamed both ways, nothing
 * still arriving held; `transport: sse | auto` hands 2024-11-05 HTTP+SSE servers to
 * legacy-sse.ts. The upstream URL is fixed by config; nothing of the client's path reaches it.
 */
import { Pool, errors as undiciErrors } from 'undici';
import type { BackendConfig } from '../config/schema.js';
import { Errors, withReason } from '../errors.js';
import { rewriteJsonBody, sseRewriter } from '../mcp/response-rewrite.js';
import type { Replicas } from '../mcp/replicas.js';
import type { SessionIds } from '../mcp/session-owners.js';
import type { Backend, BackendStats, BackendStatus, McpForward } from './backend.js';
import { backendTimer } from '../observability/request-facts.js';
import { arrived, relayHead } from './relay.js';
import { LegacySse } from './legacy-sse.js';
import { BoundedMap } from '../store/memory.js';
import { errorCause } from '../lib/error-cause.js';
import { ReverseBridge } from '../bridge/reverse/bridge.js';
import type { Upstream } from '../bridge/reverse/detect.js';
import { serveBridged, statelessRequest } from './http-version.js';
import { type SseProbe, StatelessSide } from './http-stateless.js';
import { httpProbeFailure, httpProbeStatus } from './probe.js';
import { BackendConnector, OutboundTls } from '../lib/outbound-tls.js';
import { tlsFailure } from '../lib/error-cause.js';

/** No `tls.ca`: Node's defaults (a backend's own `http.tls` still applies). */
const NODE_DEFAULTS = new OutboundTls();

export class HttpBackend implements Backend {
  readonly audience: string[];
  /** `transport: sse | auto`: the 2024-11-05 HTTP+SSE side (legacy-sse.ts). */
  private readonly legacy?: LegacySse;
  /** `auto`: what the server answered the first initialize with (undefined: not known yet). */
  private detected?: 'streamable' | 'sse';
  private readonly pool: Pool;
  private readonly url: URL;
  private readonly http: NonNullable<BackendConfig['http']>;
  /** What sealed session ids are bound to: an id opens only at this backend name and upstream URL. */
  private readonly scope: string;
  /** Sessions handed out and not yet deleted, for metrics only (ownership lives in the sealed id). */
  private live = new BoundedMap<string, true>(200_000);
  /** 2025 clients of a server that speaks only MCP 2026-07-28 (src/bridge/reverse/). */
  private readonly reverse: ReverseBridge;
  /** MCP 2026-07-28 clients: the server's own revision, or the version bridge to a 2025 server. */
  private readonly stateless: StatelessSide;
  /** Connects the pools (`tls.ca`, `http.tls`) and remembers the TLS alerts servers end connections with. */
  private readonly connector: BackendConnector;

  constructor(
    private definition: BackendConfig,
    private readonly ids: SessionIds,
    /** Replicas sharing a store: HTTP+SSE sessions (held here) are reached from any of them. */
    replicas?: Replicas,
    /** The CAs of every outbound call (`tls.ca`); this backend's `http.tls` adds to them. */
    tls: OutboundTls = NODE_DEFAULTS,
  ) {
    this.http = definition.http!;
    this.url = new URL(this.http.url);
    this.scope = `mcp-session:${definition.name}:${this.url.href}`;
    this.audience = [definition.name, this.http.url];
    const where = `backend "${definition.name}" http.tls`;
    this.connector = new BackendConnector(tls.backend(this.http.tls, where), this.http.connectTimeout);
    const connect = this.connector.connect;
    this.pool = new Pool(this.url.origin, {
      connect,
      keepAliveTimeout: 30_000,
      connections: 128,
    });
    if (this.http.transport !== 'streamable')
      this.legacy = new LegacySse({
        name: definition.name,
        http: this.http,
        ids,
        posts: this.pool,
        connect,
        mapError: (e, log) => this.mapError(e, log),
        replicas,
      });
    const upstream: Upstream = { post: (headers, body, signal) => this.post(headers, body, signal) };
    const reverseScope = `mcp-reverse:${definition.name}:${this.url.href}`;
    const protocol = this.http.protocol ?? 'auto';
    this.reverse = new ReverseBridge(definition.name, reverseScope, ids, upstream, protocol, replicas);
    this.stateless = new StatelessSide(this.http, (...args) => this.call(...args), definition.name);
  }

  /** One request to the MCP URL on the backend's pool (the bridges' requests): no body timeout, answers stream. */
  private call(
    method: 'GET' | 'POST' | 'DELETE',
    headers: Record<string, string>,
    body?: string,
    signal?: AbortSignal,
  ) {
    const path = this.url.pathname + this.url.search;
    return this.pool.request({
      method,
      path,
      headers,
      body,
      headersTimeout: this.http.timeout,
      bodyTimeout: 0,
      signal,
    });
  }

  /** One POST to the MCP URL (the reverse bridge's requests). */
  private async post(headers: Record<string, string>, body: string, signal?: AbortSignal) {
    const res = await this.call('POST', headers, body, signal);
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: res.body };
  }

  /** Streamable sessions live at the upstream server (a retired pool closes after a grace); HTTP+SSE ones here. */
  get keepsSessions(): boolean {
    return this.sse;
  }

  /** Clients are served over HTTP+SSE: configured so, or `auto` found the server speaks only that. */
  private get sse(): boolean {
    return this.http.transport === 'sse' || this.detected === 'sse';
  }

  get name(): string {
    return this.definition.name;
  }

  get config(): BackendConfig {
    return this.definition;
  }

  /** Same URL and timeouts (the reload checks that): only policy and identity headers change. */
  adopt(config: BackendConfig): void {
    this.definition = config;
  }

  async forward(fwd: McpForward): Promise<void> {
    const { req, reply, principal, request, body = request.raw, headers: given, rewrite } = fwd;
    const f = { req, reply, principal, request, body, headers: given, rewrite };
    if (this.legacy && this.sse)
      return statelessRequest(fwd) ? serveBridged(fwd, this.legacy.bridges) : this.legacy.forward(f, body);
    if (this.reverse.takes(fwd)) return this.reverse.forward(fwd);
    if (this.stateless.bridged(fwd)) return serveBridged(fwd, this.stateless.bridges);
    // The first stateless request (the revision's checks passed) finds out whether the server speaks it.
    const first = this.stateless.probe(fwd);
    // `auto`: an initialize POST decides, once, which transport the server speaks.
    const detecting =
      this.legacy !== undefined &&
      this.detected === undefined &&
      request.sessionId === undefined &&
      request.method === 'POST' &&
      request.messages.some((m) => m.method === 'initialize');
    const presented = request.sessionId;
    const sessionId =
      presented !== undefined ? this.ids.open(req, this.scope, presented, this.name, principal) : undefined;
    const headers = sessionId === undefined ? given : { ...given, 'mcp-session-id': sessionId };
    const abort = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    // The response closing before it finished means the client went away: stop the upstream call.
    reply.raw.once('close', onClose);
    let res: Awaited<ReturnType<Pool['request']>>;
    const answered = backendTimer(req);
    try {
      res = await this.pool.request({
        method: req.method as 'GET' | 'POST' | 'DELETE',
        path: this.url.pathname + this.url.search,
        headers,
        body: body?.length ? body : undefined,
        headersTimeout: this.http.timeout,
        bodyTimeout: 0,
        signal: abort.signal,
      });
      answered();
    } catch (e) {
      reply.raw.off('close', onClose);
      throw this.mapError(e as Error, req.log);
    }
    if (first && (await this.stateless.answered(fwd, res, first, this.sseProbe())))
      return void reply.raw.off('close', onClose);
    // A server that refuses a 2025 initialize as a request it does not know (400, 404; not an
    // authentication failure) may speak only 2026-07-28: then the reverse bridge answers.
    const refused = res.statusCode === 400 || res.statusCode === 404;
    if (refused && this.reverse.detector.mayProbe && request.messages[0]?.method === 'initialize') {
      if (await this.reverse.detector.probe(given)) {
        res.body.resume();
        reply.raw.off('close', onClose);
        return this.reverse.forward(fwd);
      }
    }
    if (detecting) {
      // As the SDK client does: a 4xx to the initialize POST may mean the 2024-11-05 transport
      // (401 and 403 are answers about the caller, passed on as they are). The server speaks it
      // when its SSE stream opens; else the client gets this answer.
      const code = res.statusCode;
      if (code < 300) this.detected = 'streamable';
      if (code >= 400 && code < 500 && code !== 401 && code !== 403) {
        reply.raw.off('close', onClose);
        const answer = { statusCode: code, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
        const found = () => {
          this.detected = 'sse';
          req.log.info({ event: 'mcp.transport_detected', backend: this.name }, 'backend speaks HTTP+SSE (2024-11-05)');
        };
        return this.legacy!.forward(f, body, { answer, found });
      }
    }
    relayHead(reply, res);
    // The session the backend hands out reaches the client sealed with its owner.
    const issued = res.headers['mcp-session-id'];
    if (typeof issued === 'string') {
      reply.header('mcp-session-id', this.ids.issue(this.scope, issued, principal));
      if (res.statusCode < 400) this.live.set(issued, true);
    }
    if (req.method === 'DELETE' && sessionId !== undefined && res.statusCode < 300) this.live.delete(sessionId);
    const type = String(res.headers['content-type'] ?? '');
    // The one answer held: a JSON list answer policy filters (it is rewritten whole, so it must
    // have ended; `rewrite` is set only when the request holds a list call). Anything else
    // that arrived with its head leaves in one write with its length; the rest streams as it
    // comes (a slow JSON body, an SSE stream event by event).
    if (rewrite && type.startsWith('application/json'))
      return reply.send(rewriteJsonBody(await res.body.text(), rewrite));
    if (rewrite && type.startsWith('text/event-stream')) return reply.send(res.body.pipe(sseRewriter(rewrite)));
    const whole = arrived(res.body);
    if (whole) return reply.send(whole);
    // The head leaves now, not with the body's first bytes (which may be long in coming).
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    return reply.send(res.body);
  }

  /** `auto`, transport not known yet: a stateless request the server refused may find HTTP+SSE. */
  private sseProbe(): SseProbe | undefined {
    const legacy = this.legacy;
    if (!legacy || this.detected !== undefined) return undefined;
    return async ({ req, principal, headers }) => {
      if (!(await legacy.bridgeable(principal, headers))) return undefined;
      this.detected = 'sse';
      req.log.info({ event: 'mcp.transport_detected', backend: this.name }, 'backend speaks HTTP+SSE (2024-11-05)');
      return legacy.bridges;
    };
  }

  private mapError(e: Error, log: McpForward['req']['log']): Error {
    this.reverse.detector.forget();
    this.stateless.forget();
    if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.ConnectTimeoutError)
      return new Errors.BACKEND_TIMEOUT(this.name);
    if (e.name === 'AbortError' || e instanceof undiciErrors.RequestAbortedError)
      return new Errors.BACKEND_UNAVAILABLE(this.name);
    // A TLS failure (unknown CA, hostname mismatch, refused client certificate): its own code, the reason logged.
    const tlsReason = tlsFailure(e) ?? tlsFailure(this.connector.alertBehind(e));
    if (tlsReason) return withReason(new Errors.BACKEND_TLS(this.name), tlsReason);
    log.warn({ backend: this.name, reason: errorCause(e) }, `backend request failed: ${errorCause(e)}`);
    return new Errors.BACKEND_UNAVAILABLE(this.name);
  }

  /** A plain GET, answered within 2 s: what the answer means is ./probe.ts. */
  async status(): Promise<BackendStatus> {
    try {
      const res = await this.pool.request({
        method: 'GET',
        path: this.url.pathname,
        headers: { accept: 'text/event-stream' },
        headersTimeout: 2000,
        bodyTimeout: 2000,
      });
      await res.body.dump({ limit: 0 }).catch(() => undefined);
      return httpProbeStatus(res.statusCode);
    } catch (e) {
      return httpProbeFailure(e);
    }
  }

  stats(): BackendStats {
    return { sessions: this.live.size + (this.legacy?.size ?? 0) + this.reverse.sessions.size + this.stateless.size };
  }

  /**
   * Logout: streamable sessions live upstream and their sealed ids name the user (nothing to
   * end); the user's HTTP+SSE sessions and reverse-bridge sessions end here.
   */
  async endUser(sub: string): Promise<void> {
    await this.legacy?.endUser(sub);
    this.reverse.endUser(sub);
    await this.stateless.endUser(sub);
  }

  /** Only HTTP+SSE sessions live in this process. */
  holds(sessionId: string): boolean {
    return this.legacy?.holds(sessionId) ?? false;
  }

  async drain(): Promise<void> {}

  /**
   * Reload: the sessions the same upstream URL handed out are still counted (their ids still
   * open: same name and URL).
   */
  inherit(old: Backend): void {
    if (old instanceof HttpBackend && old.scope === this.scope) {
      this.live = old.live;
      this.detected = old.detected;
      this.stateless.inherit(old.stateless);
      this.reverse.inherit(old.reverse);
    }
  }

  async close(): Promise<void> {
    await this.legacy?.close();
    this.reverse.close();
    await this.stateless.close();
    await this.pool.close().catch(() => this.pool.destroy());
  }
}
