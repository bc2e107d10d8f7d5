/**
 * HTTP backends: streamable HTTP forwarded with undici, bodies streamed both ways, nothing
 * still arriving held; `transport: sse | auto` hands 2024-11-05 HTTP+SSE servers to
 * legacy-sse.ts. The upstream URL is fixed by config; nothing of the client's path reaches it.
 */
import type { Readable } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import type { BackendConfig } from '../config/schema.js';
import { Errors } from '../errors.js';
import { rewriteJsonBody, sseRewriter } from '../mcp/response-rewrite.js';
import type { Replicas } from '../mcp/replicas.js';
import type { SessionIds } from '../mcp/session-owners.js';
import type { Backend, BackendStats, BackendStatus, McpForward } from './backend.js';
import { backendTimer } from '../observability/request-facts.js';
import { relayHead } from './relay.js';
import { LegacySse } from './legacy-sse.js';
import { BoundedMap } from '../store/memory.js';
import { errorCause } from '../lib/error-cause.js';
import { ReverseBridge } from '../bridge/reverse/bridge.js';
import type { Upstream } from '../bridge/reverse/detect.js';
import { HttpBridges } from '../bridge/http-upstream.js';
import { refusal } from '../bridge/revision.js';
import { answersAs2025, outgoing, serveBridged, statelessRequest } from './http-version.js';

/**
 * The whole body when it has already arrived (ended, all of it in the stream's buffer: a
 * small answer comes in the same socket read as its head), read without waiting; else undefined.
 * Nothing is waited for: a body still arriving (a slow or long-lived JSON answer) streams.
 */
function arrived(body: Readable): Buffer | undefined {
  const state = (body as unknown as { _readableState?: { ended?: boolean } })._readableState;
  if (!state?.ended || body.readableFlowing) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for (let c: Buffer | null = body.read(); c !== null; c = body.read()) {
    chunks.push(c);
    size += c.length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

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
  /** MCP 2026-07-28 clients of a 2025 server: the version bridge, one upstream session per principal. */
  private readonly bridges: HttpBridges;
  /** Whether the server speaks 2026-07-28 itself (undefined: not known yet; found by the first stateless request). */
  private native?: boolean;
  private readonly reaper: NodeJS.Timeout;

  constructor(
    private definition: BackendConfig,
    private readonly ids: SessionIds,
    /** Replicas sharing a store: HTTP+SSE sessions (held here) are reached from any of them. */
    replicas?: Replicas,
  ) {
    this.http = definition.http!;
    this.url = new URL(this.http.url);
    this.scope = `mcp-session:${definition.name}:${this.url.href}`;
    this.audience = [definition.name, this.http.url];
    this.pool = new Pool(this.url.origin, {
      connect: { timeout: this.http.connectTimeout },
      keepAliveTimeout: 30_000,
      connections: 128,
    });
    if (this.http.transport !== 'streamable')
      this.legacy = new LegacySse({
        name: definition.name,
        http: this.http,
        ids,
        posts: this.pool,
        mapError: (e, log) => this.mapError(e, log),
        replicas,
      });
    const upstream: Upstream = { post: (headers, body, signal) => this.post(headers, body, signal) };
    const reverseScope = `mcp-reverse:${definition.name}:${this.url.href}`;
    const protocol = this.http.protocol ?? 'auto';
    this.reverse = new ReverseBridge(definition.name, reverseScope, ids, upstream, protocol, replicas);
    if (protocol === '2025') this.native = false;
    this.bridges = new HttpBridges(
      (method, headers, body, signal) =>
        this.pool.request({
          method,
          path: this.url.pathname + this.url.search,
          headers,
          body,
          headersTimeout: this.http.timeout,
          bodyTimeout: 0,
          signal,
        }),
      () => this.http.timeout,
    );
    const idle = this.http.idleTimeout;
    this.reaper = setInterval(
      () => this.bridges.endIdle(Date.now() - idle),
      Math.max(1000, Math.min(30_000, idle / 4)),
    );
    this.reaper.unref();
  }

  /** One POST to the MCP URL (the reverse bridge's requests). */
  private async post(headers: Record<string, string>, body: string, signal?: AbortSignal) {
    const res = await this.pool.request({
      method: 'POST',
      path: this.url.pathname + this.url.search,
      headers,
      body,
      headersTimeout: this.http.timeout,
      bodyTimeout: 0,
      signal,
    });
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
    if (this.legacy && this.sse) return this.legacy.forward(f, body);
    if (this.reverse.takes(fwd)) return this.reverse.forward(fwd);
    const stateless = statelessRequest(fwd);
    if (stateless && this.native === false) return serveBridged(fwd, this.bridges);
    // The first stateless request (the revision's checks passed) finds out whether the server speaks it.
    const first = stateless && this.native === undefined ? outgoing(fwd)?.messages[0] : undefined;
    const probing =
      stateless && this.native === undefined && req.method === 'POST' && !!first && !refusal(req.headers, first);
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
    if (probing) {
      const seen = await answersAs2025(res, first);
      if (seen.old) {
        this.native = false;
        reply.raw.off('close', onClose);
        req.log.info({ event: 'mcp.revision_detected', backend: this.name }, 'backend speaks MCP 2025: bridged');
        return serveBridged(fwd, this.bridges);
      }
      if (res.statusCode < 400) this.native = true;
      if (seen.text !== undefined) {
        reply.raw.off('close', onClose);
        relayHead(reply, res);
        return reply.send(seen.text);
      }
    }
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

  private mapError(e: Error, log: McpForward['req']['log']): Error {
    this.reverse.detector.forget();
    if (this.http.protocol !== '2025') this.native = undefined;
    if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.ConnectTimeoutError)
      return new Errors.BACKEND_TIMEOUT(this.name);
    if (e.name === 'AbortError' || e instanceof undiciErrors.RequestAbortedError)
      return new Errors.BACKEND_UNAVAILABLE(this.name);
    log.warn({ backend: this.name, reason: errorCause(e) }, `backend request failed: ${errorCause(e)}`);
    return new Errors.BACKEND_UNAVAILABLE(this.name);
  }

  /** Reachable when any HTTP answer comes back within 2 s. */
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
      return { ok: true, detail: `HTTP ${res.statusCode}` };
    } catch (e) {
      return { ok: false, detail: (e as { code?: string }).code ?? (e as Error).message };
    }
  }

  stats(): BackendStats {
    return { sessions: this.live.size + (this.legacy?.size ?? 0) + this.reverse.sessions.size + this.bridges.size };
  }

  /**
   * Logout: streamable sessions live upstream and their sealed ids name the user (nothing to
   * end); the user's HTTP+SSE sessions and reverse-bridge sessions end here.
   */
  async endUser(sub: string): Promise<void> {
    this.legacy?.endUser(sub);
    this.reverse.endUser(sub);
    this.bridges.endUser(sub);
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
      if (this.http.protocol !== '2025') this.native = old.native;
      this.reverse.inherit(old.reverse);
    }
  }

  async close(): Promise<void> {
    await this.legacy?.close();
    this.reverse.close();
    clearInterval(this.reaper);
    this.bridges.endAll();
    await this.pool.close().catch(() => this.pool.destroy());
  }
}
