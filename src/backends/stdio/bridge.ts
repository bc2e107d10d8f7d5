/**
 * One child process and the MCP sessions attached to it (one for `isolation: session`,
 * several for `user` and `shared`). Rewrites JSON-RPC ids and progress tokens per session,
 * initializes the child once and answers later `initialize` calls from the recorded result,
 * routes server→client messages to the session whose request caused them, and never to
 * another user's session.
 */
import type { FastifyBaseLogger } from 'fastify';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { INTERNAL_ERROR, rpcError, type RequestId, type RpcMessage } from '../../mcp/jsonrpc.js';
import { withIdentityMeta } from '../../propagation/meta.js';
import type { StdioChild } from './child.js';
import { InFlight } from './in-flight.js';
import { SessionPrefs } from './session-prefs.js';
import type { SessionLink } from './session-link.js';

export type { SessionLink } from './session-link.js';

export interface BridgeOptions {
  log: FastifyBaseLogger;
  requestTimeoutMs: number;
  meta: boolean;
  /** Several users share this child: unattributable messages are dropped rather than guessed. */
  shared: boolean;
  /** The one user this child serves (per-user and per-session isolation). */
  owner?: string;
}

/** JSON-RPC method not found: what the child is told when no client can take its request. */
const METHOD_NOT_FOUND = -32601;

const LIST_CHANGED = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
]);

export class ChildBridge {
  readonly sessions = new Set<SessionLink>();
  lastActive = Date.now();
  private nextId = 1;
  private readonly inflight: InFlight;
  private readonly prefs = new SessionPrefs();
  private readonly serverRequests = new Map<
    string,
    { childId: RequestId; session: SessionLink; relatedRequestId?: RequestId }
  >();
  private initResult?: unknown;
  private initWaiters: Array<{ session: SessionLink; id: RequestId }> = [];
  private initInFlight = false;
  private initializedSent = false;

  get owner(): string | undefined {
    return this.opts.owner;
  }

  constructor(
    readonly child: StdioChild,
    private readonly opts: BridgeOptions,
  ) {
    this.inflight = new InFlight(opts.requestTimeoutMs);
    child.onmessage = (m) => this.fromChild(m);
    child.onexit = (info) => this.onExit(info);
  }

  attach(s: SessionLink): void {
    this.sessions.add(s);
  }

  /**
   * The session ended: the child is told to cancel its requests (an initialize stays: other
   * sessions wait for it), its server→client requests are refused, and subscriptions nobody
   * else holds are ended on the child.
   */
  detach(s: SessionLink): void {
    this.sessions.delete(s);
    for (const [id, p] of this.inflight.ofSession(s))
      if (p.method !== 'initialize') this.cancel(id, { reason: 'the client session ended' });
    for (const [clientId, r] of this.serverRequests) {
      if (r.session !== s) continue;
      this.serverRequests.delete(clientId);
      this.child.send(rpcError(r.childId, INTERNAL_ERROR, 'the client session ended'));
    }
    for (const uri of this.prefs.detach(s))
      this.child.send({
        jsonrpc: '2.0',
        id: `proxy-${this.nextId++}`,
        method: 'resources/unsubscribe',
        params: { uri },
      });
  }

  get busy(): boolean {
    return this.inflight.size > 0;
  }

  /**
   * The child initialized, for clients that never send `initialize` (MCP 2026-07-28): the
   * proxy does the handshake once, as any client would (sampling and elicitation), unless a
   * client's own handshake already did. Resolves with the child's InitializeResult.
   */
  ready(s: SessionLink): Promise<Record<string, unknown>> {
    if (this.initResult) return Promise.resolve(this.initResult as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const probe: SessionLink = {
        id: s.id,
        principal: s.principal,
        lastActive: Date.now(),
        getStreamOpen: false,
        deliver: (m) => {
          const { result, error } = m;
          if (!result) return reject(new Error(`initialize failed: ${JSON.stringify(error ?? null).slice(0, 200)}`));
          this.clientNotification(probe, { jsonrpc: '2.0', method: 'notifications/initialized' });
          resolve(result as Record<string, unknown>);
        },
        gone: () => reject(new Error('the stdio server exited')),
      };
      this.clientRequest(probe, {
        jsonrpc: '2.0',
        id: 'proxy-initialize',
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          // what a version bridge can turn into input requests (each request's own capabilities are checked there)
          capabilities: { sampling: {}, elicitation: {} },
          clientInfo: { name: 'mcp-oidc-proxy', version: '1' },
        },
      });
    });
  }

  /** A message a client POSTed on session `s` (each message of a batch on its own). */
  fromClient(s: SessionLink, msg: RpcMessage): void {
    s.lastActive = this.lastActive = Date.now();
    if (msg.method !== undefined && msg.id !== undefined) {
      this.clientRequest(s, msg);
      return;
    }
    if (msg.method !== undefined) {
      this.clientNotification(s, msg);
      return;
    }
    const mapped = this.serverRequests.get(String(msg.id));
    if (!mapped || mapped.session !== s) return;
    this.serverRequests.delete(String(msg.id));
    const result = msg.result !== undefined ? { result: withIdentityMeta(msg.result, s.principal, false) } : {};
    this.child.send({ ...msg, ...result, id: mapped.childId });
  }

  private clientRequest(s: SessionLink, msg: RpcMessage) {
    if (msg.method === 'initialize') {
      this.prefs.declare(s, msg.params?.capabilities);
      if (this.initResult) return s.deliver({ jsonrpc: '2.0', id: msg.id!, result: this.initResult });
      if (this.initInFlight) return void this.initWaiters.push({ session: s, id: msg.id! });
      this.initInFlight = true;
    }
    const params = withIdentityMeta(msg.params, s.principal, this.opts.meta);
    let answered: ((m: { result?: unknown }) => void) | undefined;
    if (msg.method === 'resources/subscribe')
      answered = (m) => void (m.result && this.prefs.subscribe(s, String(params.uri)));
    if (msg.method === 'resources/unsubscribe' && !this.prefs.unsubscribe(s, String(params.uri))) {
      return s.deliver({ jsonrpc: '2.0', id: msg.id!, result: {} });
    }
    if (msg.method === 'logging/setLevel') params.level = this.prefs.setLevel(s, params.level, this.sessions);
    const childId = this.nextId++;
    const meta = params._meta as Record<string, unknown> | undefined;
    const progressToken = meta?.progressToken as string | number | undefined;
    if (progressToken !== undefined) params._meta = { ...meta, progressToken: childId };
    this.inflight.add(childId, {
      session: s,
      originalId: msg.id!,
      method: msg.method!,
      progressToken,
      answered,
      timer: setTimeout(() => this.timeout(childId), this.opts.requestTimeoutMs),
    });
    if (!this.child.send({ jsonrpc: '2.0', id: childId, method: msg.method!, params }))
      this.fail(childId, 'the stdio server is not running');
  }

  private clientNotification(s: SessionLink, msg: RpcMessage) {
    if (msg.method === 'notifications/initialized') {
      if (this.initializedSent) return;
      this.initializedSent = true;
    }
    const params = withIdentityMeta(msg.params, s.principal, false);
    if (msg.method === 'notifications/cancelled') {
      const childId = this.inflight.find(s, params.requestId);
      return void (childId !== undefined && this.cancel(childId, params));
    }
    this.child.send({ ...msg, params });
  }

  /** Tells the child to stop working on a request; whatever it still sends for it reaches nobody. */
  private cancel(childId: number, params: Record<string, unknown>) {
    if (!this.inflight.abandon(childId)) return;
    this.child.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { ...params, requestId: childId } });
  }

  private fromChild(msg: RpcMessage) {
    this.lastActive = Date.now();
    if (msg.method === undefined) return this.childResponse(msg);
    if (msg.id !== undefined && msg.method === 'ping')
      return void this.child.send({ jsonrpc: '2.0', id: msg.id, result: {} });
    if (msg.method === 'notifications/progress') {
      const p = this.inflight.byProgressToken(msg.params?.progressToken);
      return p?.session.deliver({ ...msg, params: { ...msg.params, progressToken: p.progressToken } }, p.originalId);
    }
    if (msg.method === 'notifications/cancelled') return this.serverCancelled(msg);
    if (msg.method === 'notifications/resources/updated') {
      for (const s of this.prefs.subscribers(msg.params?.uri)) s.deliver(msg);
      return;
    }
    if (LIST_CHANGED.has(msg.method)) {
      for (const s of this.sessions) s.deliver(msg);
      return;
    }
    const target = this.attribute();
    if (!target) {
      if (msg.id !== undefined)
        this.child.send(rpcError(msg.id, INTERNAL_ERROR, 'no client session can take this request'));
      this.opts.log.debug(
        { event: 'stdio.unattributed', method: msg.method },
        'server message with no session to deliver to: dropped',
      );
      return;
    }
    if (msg.id === undefined) {
      // a version bridge's session (stateless) takes every message and decides itself
      if (msg.method !== 'notifications/message' || target.session.stateless)
        target.session.deliver(msg, target.relatedRequestId);
      else if (this.prefs.wants(target.session, msg.params?.level))
        target.session.deliver(msg, target.relatedRequestId);
      return;
    }
    // A version bridge checks each request's own client capabilities (MRTR).
    if (!target.session.stateless && !this.prefs.canAnswer(target.session, msg.method))
      return void this.child.send(
        rpcError(msg.id, METHOD_NOT_FOUND, `the client did not declare the capability ${msg.method} needs`),
      );
    const clientId = `srv-${this.nextId++}`;
    this.serverRequests.set(clientId, { childId: msg.id as RequestId, ...target });
    target.session.deliver({ ...msg, id: clientId }, target.relatedRequestId);
  }

  /** The child gave up on one of its own requests: the session that has it is told, under its id there. */
  private serverCancelled(msg: RpcMessage) {
    for (const [clientId, r] of this.serverRequests) {
      if (r.childId !== msg.params?.requestId) continue;
      this.serverRequests.delete(clientId);
      return r.session.deliver({ ...msg, params: { ...msg.params, requestId: clientId } }, r.relatedRequestId);
    }
  }

  private childResponse(msg: RpcMessage) {
    const p = this.inflight.settle(Number(msg.id));
    if (!p) return this.inflight.finished(Number(msg.id));
    p.answered?.(msg);
    if (p.method === 'initialize') {
      this.initInFlight = false;
      if (msg.result) this.initResult = msg.result;
      for (const w of this.initWaiters.splice(0)) w.session.deliver({ ...msg, id: w.id });
    }
    const result =
      msg.result !== undefined && p.session.filterResult ? p.session.filterResult(p.method, msg.result) : msg.result;
    p.session.deliver({ ...msg, ...(result !== undefined ? { result } : {}), id: p.originalId });
  }

  /**
   * Which session a message the child sent on its own belongs to: the session whose request
   * is in flight when no other session's request is in flight or abandoned; else, with nothing
   * in flight or abandoned, the one session of a child not shared between users (on its GET
   * stream). Otherwise nobody: several sessions on one child are never guessed between.
   */
  private attribute(): { session: SessionLink; relatedRequestId?: RequestId } | undefined {
    const cause = this.inflight.cause();
    if (cause) return { session: cause.session, relatedRequestId: cause.originalId };
    if (this.opts.shared || this.sessions.size !== 1 || !this.inflight.quiet) return undefined;
    const [only] = this.sessions;
    return only!.getStreamOpen ? { session: only! } : undefined;
  }

  private fail(childId: number, message: string, abandon = false) {
    const p = abandon ? this.inflight.get(childId) : this.inflight.settle(childId);
    if (!p) return;
    if (abandon) this.cancel(childId, { reason: message });
    if (p.method === 'initialize') {
      this.initInFlight = false;
      for (const w of this.initWaiters.splice(0)) w.session.deliver(rpcError(w.id, INTERNAL_ERROR, message));
    }
    p.session.deliver(rpcError(p.originalId, INTERNAL_ERROR, message));
  }

  private timeout(childId: number) {
    const p = this.inflight.get(childId);
    if (!p) return;
    this.opts.log.warn(
      { event: 'stdio.timeout', method: p.method, pid: this.child.pid },
      'stdio server did not answer in time',
    );
    const init = p.method === 'initialize';
    this.fail(childId, `the stdio server did not answer ${p.method} in time`, !init);
    if (init) void this.child.stop();
  }

  private onExit(info: { code: number | null; signal: NodeJS.Signals | null; error?: Error }) {
    const expected = this.sessions.size === 0 && this.inflight.size === 0;
    const fields = {
      event: 'stdio.exit',
      pid: this.child.pid,
      code: info.code,
      signal: info.signal,
      error: info.error?.message,
      stderr: this.child.stderrTail.slice(-10),
    };
    if (expected) this.opts.log.info(fields, 'stdio server exited');
    else this.opts.log.error(fields, 'stdio server exited with sessions attached');
    for (const id of this.inflight.ids()) this.fail(id, 'the stdio server exited');
    for (const s of [...this.sessions]) s.gone();
    this.sessions.clear();
  }
}
