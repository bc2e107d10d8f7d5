/**
 * A 2024-11-05 HTTP+SSE MCP session the proxy opened, as the version bridge's upstream (one per
 * principal): MCP 2026-07-28 clients at an HTTP+SSE backend. The connection is sse-upstream.ts's
 * (the stream, its `endpoint`, the POSTs with each request's own identity headers); the session is
 * its stream, so the server dropping it ends the session and the next request opens another; a
 * session the server forgot (404) is replaced and the request sent again, once.
 */
import type { Pool } from 'undici';
import type { HeldUpstream } from '../bridge/held.js';
import { InFlight } from '../bridge/related.js';
import { INIT_ID, initializeRequest, renewed, usable } from '../bridge/renew.js';
import type { RequestId, RpcMessage } from '../mcp/jsonrpc.js';
import { SseUpstream } from './sse-upstream.js';

export interface SseBridgedOptions {
  url: URL;
  streams: Pool;
  posts: Pool;
  timeout: number;
  /** How long the stream may take to name its `endpoint`. */
  endpointWithin: number;
}

/** The server answered 404: it no longer knows the session. */
class SessionGone extends Error {}

export class SseBridged implements HeldUpstream {
  onmessage?: (msg: RpcMessage, relatedRequestId?: RequestId) => void;
  onclose?: () => void;
  onrenew?: () => void;
  headers: Record<string, string> = {};
  private conn?: SseUpstream;
  private init?: Promise<Record<string, unknown>>;
  private initialized?: { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void };
  private gone = false;
  private readonly pending = new InFlight();

  constructor(private readonly o: SseBridgedOptions) {}

  /** Opens the stream and initializes the session once; a session that cannot be opened ends. */
  ready(): Promise<Record<string, unknown>> {
    this.init ??= this.initialize().catch((e: Error) => {
      this.end();
      throw e;
    });
    return this.init;
  }

  private async initialize(): Promise<Record<string, unknown>> {
    const { url, streams, posts, timeout } = this.o;
    const conn = new SseUpstream({
      url,
      streams,
      posts,
      timeout,
      onMessage: (m) => this.fromServer(m as RpcMessage),
      onClose: () => {
        if (this.conn === conn) this.end();
      },
    });
    this.conn = conn;
    const refused = await conn.open(this.headers, this.o.endpointWithin);
    if (refused) throw new Error(`the HTTP+SSE stream answered HTTP ${refused.statusCode}`);
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.initialized = { resolve, reject };
    });
    const timer = setTimeout(() => this.initialized?.reject(new Error('initialize not answered in time')), timeout);
    try {
      await this.post(initializeRequest());
      const result = await answered;
      await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return result;
    } finally {
      clearTimeout(timer);
      this.initialized = undefined;
    }
  }

  /** One message POSTed to the endpoint; an answer other than 2xx is thrown. */
  private async post(msg: RpcMessage): Promise<void> {
    const answer = await this.conn!.post(Buffer.from(JSON.stringify(msg)), this.headers);
    if (answer.statusCode === 404) throw new SessionGone('the server ended the session');
    if (answer.statusCode >= 300) throw new Error(`HTTP ${answer.statusCode}`);
  }

  private fromServer(m: RpcMessage): void {
    if (m.method === undefined && m.id === INIT_ID && this.initialized) {
      const error = m.error as { message?: string } | undefined;
      if (error) this.initialized.reject(new Error(String(error.message)));
      else this.initialized.resolve((m.result ?? {}) as Record<string, unknown>);
      return;
    }
    const related = this.pending.related(m);
    if (m.method === undefined) this.pending.done(m.id);
    this.onmessage?.(m, related);
  }

  send(msg: RpcMessage): void {
    void this.deliver(msg);
  }

  /** The server forgot the session `lost`: a new one is opened (once for all requests that met it). */
  private async renew(lost: SseUpstream | undefined): Promise<boolean> {
    if (lost && this.conn === lost) {
      this.conn = undefined;
      lost.close();
      this.init = renewed(
        () => this.initialize(),
        () => this.onrenew?.(),
        () => this.end(),
      );
    }
    return usable(this.init, () => this.gone);
  }

  private async deliver(msg: RpcMessage, retried = false): Promise<void> {
    const request = msg.method !== undefined && msg.id !== undefined && msg.id !== null;
    if (!retried) this.pending.add(msg);
    let used: SseUpstream | undefined;
    try {
      await this.ready();
      used = this.conn;
      await this.post(msg);
    } catch (e) {
      if (e instanceof SessionGone) {
        // A request is sent again on a new session, once; an answer or notification belonged to the old one.
        if (request && !retried && (await this.renew(used))) return this.deliver(msg, true);
        this.end();
      }
      if (!request) return;
      this.pending.done(msg.id);
      if (!this.gone)
        this.onmessage?.({ jsonrpc: '2.0', id: msg.id, error: { code: -32603, message: (e as Error).message } });
    }
  }

  /** The stream is gone (the server dropped it, or forgot the session). */
  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.initialized?.reject(new Error('the HTTP+SSE stream closed'));
    this.pending.clear();
    this.conn?.close();
    this.onclose?.();
  }

  /** The session ends: its stream closes (what ends an HTTP+SSE session). */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.initialized?.reject(new Error('closed'));
    this.pending.clear();
    this.conn?.close();
  }
}
