/**
 * One child process and the MCP sessions attached to it (one for `isolation: session`,
 * several for `user` and `shared`). Rewrites JSON-RPC ids and progress tokens per session,
 * initializes the child once and answers later `initialize` calls from the recorded result,
 * routes server→client messages to the session whose request caused them, and never to
 * another user's session.
 */
import type { FastifyBaseLogger } from 'fastify';
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../../identity/principal.js';
import { withIdentityMeta } from '../../propagation/meta.js';
import type { StdioChild } from './child.js';

export interface SessionLink {
  readonly id: string;
  readonly principal: Principal;
  lastActive: number;
  readonly getStreamOpen: boolean;
  /** Deliver a message to the client (on the stream of `relatedRequestId`, else the GET stream). */
  deliver(msg: JSONRPCMessage, relatedRequestId?: RequestId): void;
  /** The child is gone: the session ends (the next request gets 404 and re-initializes). */
  gone(): void;
  /** Policy's filter for list results (tools/list …), by method. */
  filterResult?(method: string, result: unknown): unknown;
  /** One MCP 2026-07-28 request: the client takes no server→client requests, only notifications about it. */
  readonly stateless?: boolean;
}

interface Pending {
  session: SessionLink;
  originalId: RequestId;
  method: string;
  timer: NodeJS.Timeout;
  progressToken?: string | number;
}

type Msg = { jsonrpc: '2.0'; id?: RequestId; method?: string; params?: Record<string, unknown>; result?: unknown; error?: unknown };

export interface BridgeOptions {
  log: FastifyBaseLogger;
  requestTimeoutMs: number;
  meta: boolean;
  /** Several users share this child: unattributable messages are dropped rather than guessed. */
  shared: boolean;
  /** The one user this child serves (per-user and per-session isolation). */
  owner?: string;
}

const rpcError = (id: RequestId, message: string, code = -32603): JSONRPCMessage => ({ jsonrpc: '2.0', id, error: { code, message } });

export class ChildBridge {
  readonly sessions = new Set<SessionLink>();
  lastActive = Date.now();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly progress = new Map<number, Pending>();
  private readonly serverRequests = new Map<string, { childId: RequestId; session: SessionLink }>();
  private initResult?: unknown;
  private initWaiters: Array<{ session: SessionLink; id: RequestId }> = [];
  private initInFlight = false;
  private initializedSent = false;

  get owner(): string | undefined {
    return this.opts.owner;
  }

  constructor(readonly child: StdioChild, private readonly opts: BridgeOptions) {
    child.onmessage = (m) => this.fromChild(m as Msg);
    child.onexit = (info) => this.onExit(info);
  }

  attach(s: SessionLink): void {
    this.sessions.add(s);
  }

  detach(s: SessionLink): void {
    this.sessions.delete(s);
    for (const [id, p] of this.pending) if (p.session === s) this.settle(id);
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /**
   * The child initialized, for clients that never send `initialize` (MCP 2026-07-28): the
   * proxy does the handshake once, as any client would (no client capabilities), unless a
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
          const { result, error } = m as Msg;
          if (!result) return reject(new Error(`initialize failed: ${JSON.stringify(error ?? null).slice(0, 200)}`));
          this.clientNotification(probe, { jsonrpc: '2.0', method: 'notifications/initialized' });
          resolve(result as Record<string, unknown>);
        },
        gone: () => reject(new Error('the stdio server exited')),
      };
      this.clientRequest(probe, { jsonrpc: '2.0', id: 'proxy-initialize', method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcp-oidc-proxy', version: '1' } } });
    });
  }

  /** A message a client POSTed on session `s`. */
  fromClient(s: SessionLink, raw: JSONRPCMessage): void {
    const msg = raw as Msg;
    s.lastActive = this.lastActive = Date.now();
    if (msg.method !== undefined && msg.id !== undefined) return this.clientRequest(s, msg);
    if (msg.method !== undefined) return this.clientNotification(s, msg);
    const mapped = this.serverRequests.get(String(msg.id));
    if (!mapped || mapped.session !== s) return;
    this.serverRequests.delete(String(msg.id));
    this.child.send({ ...msg, id: mapped.childId } as JSONRPCMessage);
  }

  private clientRequest(s: SessionLink, msg: Msg) {
    if (msg.method === 'initialize') {
      if (this.initResult) return s.deliver({ jsonrpc: '2.0', id: msg.id!, result: this.initResult } as JSONRPCMessage);
      if (this.initInFlight) return void this.initWaiters.push({ session: s, id: msg.id! });
      this.initInFlight = true;
    }
    const childId = this.nextId++;
    const params = withIdentityMeta(msg.params, s.principal, this.opts.meta);
    const entry: Pending = { session: s, originalId: msg.id!, method: msg.method!, timer: setTimeout(() => this.timeout(childId), this.opts.requestTimeoutMs) };
    const meta = params._meta as Record<string, unknown> | undefined;
    if (meta?.progressToken !== undefined) {
      entry.progressToken = meta.progressToken as string | number;
      params._meta = { ...meta, progressToken: childId };
      this.progress.set(childId, entry);
    }
    this.pending.set(childId, entry);
    if (!this.child.send({ jsonrpc: '2.0', id: childId, method: msg.method!, params } as JSONRPCMessage)) this.fail(childId, 'the stdio server is not running');
  }

  private clientNotification(s: SessionLink, msg: Msg) {
    if (msg.method === 'notifications/initialized') {
      if (this.initializedSent) return;
      this.initializedSent = true;
    }
    if (msg.method === 'notifications/cancelled') {
      const target = [...this.pending].find(([, p]) => p.session === s && p.originalId === msg.params?.requestId);
      if (!target) return;
      this.settle(target[0]);
      return void this.child.send({ ...msg, params: { ...msg.params, requestId: target[0] } } as JSONRPCMessage);
    }
    this.child.send({ ...msg, params: withIdentityMeta(msg.params, s.principal, false) } as JSONRPCMessage);
  }

  private fromChild(msg: Msg) {
    this.lastActive = Date.now();
    if (msg.method === undefined) return this.childResponse(msg);
    if (msg.method === 'notifications/progress') {
      const p = this.progress.get(Number(msg.params?.progressToken));
      if (p) p.session.deliver({ ...msg, params: { ...msg.params, progressToken: p.progressToken } } as JSONRPCMessage, p.originalId);
      return;
    }
    if (msg.id !== undefined && msg.method === 'ping') return void this.child.send({ jsonrpc: '2.0', id: msg.id, result: {} });
    const target = this.attribute();
    if (!target) {
      if (msg.id !== undefined) this.child.send(rpcError(msg.id, 'no client session can take this request'));
      this.opts.log.debug({ event: 'stdio.unattributed', method: msg.method }, 'server message with no session to deliver to: dropped');
      return;
    }
    if (target.session.stateless && (msg.id !== undefined || msg.method !== 'notifications/message')) {
      // MCP 2026-07-28 has no server→client requests (MRTR replaces them) and no unrelated messages on a request's stream.
      if (msg.id !== undefined) this.child.send(rpcError(msg.id, `the client (MCP 2026-07-28) cannot answer ${msg.method}`, -32601));
      return;
    }
    if (msg.id === undefined) return target.session.deliver(msg as JSONRPCMessage, target.relatedRequestId);
    const clientId = `srv-${this.nextId++}`;
    this.serverRequests.set(clientId, { childId: msg.id, session: target.session });
    target.session.deliver({ ...msg, id: clientId } as JSONRPCMessage, target.relatedRequestId);
  }

  private childResponse(msg: Msg) {
    const p = this.pending.get(Number(msg.id));
    if (!p) return;
    this.settle(Number(msg.id));
    if (p.method === 'initialize') {
      this.initInFlight = false;
      if (msg.result) this.initResult = msg.result;
      for (const w of this.initWaiters.splice(0)) w.session.deliver({ ...msg, id: w.id } as JSONRPCMessage);
    }
    const result = msg.result !== undefined && p.session.filterResult ? p.session.filterResult(p.method, msg.result) : msg.result;
    p.session.deliver({ ...msg, ...(result !== undefined ? { result } : {}), id: p.originalId } as JSONRPCMessage);
  }

  /**
   * Which session a server→client message belongs to: the latest request in flight, or for a
   * child of one user, that user's most recent session with a GET stream. With several users
   * on one child and no way to tell, nobody.
   */
  private attribute(): { session: SessionLink; relatedRequestId?: RequestId } | undefined {
    const inflight = [...this.pending.values()];
    const last = inflight.at(-1);
    if (last) {
      const oneUser = inflight.every((p) => p.session.principal.sub === last.session.principal.sub);
      if (!this.opts.shared || oneUser) return { session: last.session, relatedRequestId: last.originalId };
      return undefined;
    }
    if (this.opts.shared) return undefined;
    const streams = [...this.sessions].filter((s) => s.getStreamOpen).sort((a, b) => b.lastActive - a.lastActive);
    return streams[0] ? { session: streams[0] } : undefined;
  }

  private settle(childId: number) {
    const p = this.pending.get(childId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(childId);
    this.progress.delete(childId);
  }

  private fail(childId: number, message: string) {
    const p = this.pending.get(childId);
    if (!p) return;
    this.settle(childId);
    if (p.method === 'initialize') {
      this.initInFlight = false;
      for (const w of this.initWaiters.splice(0)) w.session.deliver(rpcError(w.id, message));
    }
    p.session.deliver(rpcError(p.originalId, message));
  }

  private timeout(childId: number) {
    const p = this.pending.get(childId);
    if (!p) return;
    this.opts.log.warn({ event: 'stdio.timeout', method: p.method, pid: this.child.pid }, 'stdio server did not answer in time');
    this.fail(childId, `the stdio server did not answer ${p.method} in time`);
    if (p.method === 'initialize') void this.child.stop();
  }

  private onExit(info: { code: number | null; signal: NodeJS.Signals | null; error?: Error }) {
    const expected = this.sessions.size === 0 && this.pending.size === 0;
    const fields = { event: 'stdio.exit', pid: this.child.pid, code: info.code, signal: info.signal, error: info.error?.message, stderr: this.child.stderrTail.slice(-10) };
    if (expected) this.opts.log.info(fields, 'stdio server exited');
    else this.opts.log.error(fields, 'stdio server exited with sessions attached');
    for (const id of [...this.pending.keys()]) this.fail(id, 'the stdio server exited');
    for (const s of [...this.sessions]) s.gone();
    this.sessions.clear();
  }
}
