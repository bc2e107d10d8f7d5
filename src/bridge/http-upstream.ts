/**
 * A 2025 streamable-HTTP MCP session the proxy opened, as the version bridge's upstream (one per
 * principal): initialized on first use, its GET stream reopened when the server drops it, opened
 * again once when the server forgets it (404), ended (DELETE) when the bridge lets it go.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import type { RequestId, RpcMessage } from '../mcp/jsonrpc.js';
import type { HeldUpstream } from './held.js';
import { InFlight } from './related.js';
import { INIT_ID, initializeRequest, renewed, usable } from './renew.js';

/** One request to the MCP URL; the backend's pool and timeouts. */
export type HttpCall = (
  method: 'GET' | 'POST' | 'DELETE',
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
) => Promise<Dispatcher.ResponseData>;

/** Client headers that describe the client's own exchange, not the upstream one. */
const OWN = new Set(['content-length', 'host', 'accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version']);
const OWN_PREFIX = ['mcp-method', 'mcp-name', 'last-event-id'];
/** A GET stream the server keeps dropping at once is reopened this many times, backing off. */
const MAX_QUICK_DROPS = 5;

/** The server could not be reached, or cut the connection (not a slow answer, not a bad body). */
export function unreachable(e: unknown): boolean {
  const code = String((e as { code?: unknown }).code ?? '');
  return /^(UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|ECONN|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)/.test(
    code,
  );
}

/** The JSON-RPC messages of an SSE body, as they come. */
async function* sseMessages(body: Readable): AsyncGenerator<RpcMessage> {
  let buf = '';
  for await (const chunk of body) {
    buf += (chunk as Buffer).toString('utf8').replace(/\r\n?/g, '\n');
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) yield JSON.parse(data) as RpcMessage;
    }
  }
}

export interface HttpUpstreamOptions {
  /** The server failed (unreachable, or refused to initialize): what the backend knows of it may be stale. */
  onFailure?: () => void;
}

export class HttpUpstream implements HeldUpstream {
  onmessage?: (msg: RpcMessage, relatedRequestId?: RequestId) => void;
  onclose?: () => void;
  onrenew?: () => void;
  headers: Record<string, string> = {};
  private session?: string;
  private version = LATEST_PROTOCOL_VERSION;
  private init?: Promise<Record<string, unknown>>;
  private readonly abort = new AbortController();
  /** The current session's GET stream (aborted when the session is replaced). */
  private stream?: AbortController;
  private gone = false;
  /** The bridge's requests the server has not answered yet. */
  private readonly pending = new InFlight();

  constructor(
    private readonly call: HttpCall,
    private readonly o: HttpUpstreamOptions = {},
  ) {}

  private head(accept: string): Record<string, string> {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.headers))
      if (!OWN.has(k.toLowerCase()) && !OWN_PREFIX.some((p) => k.toLowerCase().startsWith(p))) h[k] = v;
    h.accept = accept;
    h['mcp-protocol-version'] = this.version;
    if (this.session) h['mcp-session-id'] = this.session;
    return h;
  }

  /** Initialized once; a session that cannot be initialized ends (the next request starts another). */
  ready(): Promise<Record<string, unknown>> {
    this.init ??= this.initialize().catch((e: Error) => {
      this.failed();
      throw e;
    });
    return this.init;
  }

  private async initialize(): Promise<Record<string, unknown>> {
    this.session = undefined;
    this.version = LATEST_PROTOCOL_VERSION;
    const res = await this.post(initializeRequest());
    const sid = res.headers['mcp-session-id'];
    if (typeof sid === 'string') this.session = sid;
    let result: Record<string, unknown> | undefined;
    for await (const m of this.messages(res))
      if (m.id === INIT_ID) {
        if (m.error) throw new Error(String((m.error as { message?: string }).message ?? 'initialize failed'));
        result = m.result as Record<string, unknown>;
      } else this.onmessage?.(m);
    if (!result) throw new Error(`initialize answered HTTP ${res.statusCode}`);
    if (typeof result.protocolVersion === 'string') this.version = result.protocolVersion;
    const done = await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await done.body.dump();
    void this.listen();
    return result;
  }

  /**
   * The session's GET stream (server→client requests and notifications); none when the server
   * offers none. A stream the server drops is reopened (the session lives on); the server gone
   * ends the session, the session gone (404) too.
   */
  private async listen(): Promise<void> {
    const own = new AbortController();
    this.stream = own;
    const signal = AbortSignal.any([this.abort.signal, own.signal]);
    for (let drops = 0; !signal.aborted && drops <= MAX_QUICK_DROPS; ) {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.call('GET', this.head('text/event-stream'), undefined, signal);
      } catch (e) {
        if (!signal.aborted && unreachable(e)) this.failed();
        return;
      }
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        if (res.statusCode === 404 && !signal.aborted) this.end();
        return;
      }
      let got = false;
      try {
        for await (const m of sseMessages(res.body)) {
          got = true;
          this.onmessage?.(m, this.pending.related(m));
        }
      } catch {
        // cut: reopened below unless the session is over
      }
      drops = got ? 0 : drops + 1;
      if (drops) await sleep(50 * 2 ** drops, undefined, { ref: false, signal }).catch(() => undefined);
    }
  }

  private post(msg: RpcMessage): Promise<Dispatcher.ResponseData> {
    const h = { ...this.head('application/json, text/event-stream'), 'content-type': 'application/json' };
    return this.call('POST', h, JSON.stringify(msg), this.abort.signal);
  }

  /** The messages of an answer: JSON (one or a batch) or an SSE stream. */
  private async *messages(res: Dispatcher.ResponseData): AsyncGenerator<RpcMessage> {
    const type = String(res.headers['content-type'] ?? '');
    if (type.startsWith('text/event-stream')) return yield* sseMessages(res.body);
    if (!type.startsWith('application/json')) return void (await res.body.dump());
    const body = (await res.body.json()) as RpcMessage | RpcMessage[];
    yield* Array.isArray(body) ? body : [body];
  }

  send(msg: RpcMessage): void {
    void this.deliver(msg);
  }

  /**
   * The server no longer knows the session `lost` (404): a new one is initialized (once for all
   * requests that met the same 404). False when it could not be.
   */
  private async renew(lost: string): Promise<boolean> {
    if (this.session === lost) {
      this.stream?.abort();
      this.init = renewed(
        () => this.initialize(),
        () => this.onrenew?.(),
        () => this.failed(),
      );
    }
    return usable(this.init, () => this.gone);
  }

  private async deliver(msg: RpcMessage, retried = false): Promise<void> {
    const request = msg.method !== undefined && msg.id !== undefined && msg.id !== null;
    if (request && !retried) this.pending.add(msg);
    try {
      await this.ready();
      const used = this.session;
      const res = await this.post(msg);
      if (res.statusCode === 404 && used) {
        await res.body.dump();
        // A request is sent again, once, on a new session; an answer or notification belonged to the
        // session that is gone (the next request opens another).
        if (request && !retried && (await this.renew(used))) return this.deliver(msg, true);
        return this.unanswered(msg, 'the server ended the session');
      }
      let answered = false;
      for await (const m of this.messages(res)) {
        if (request && m.method === undefined && m.id === msg.id) {
          answered = true;
          this.pending.done(msg.id);
        }
        this.onmessage?.(m, request ? msg.id! : undefined);
      }
      if (request && !answered) this.unanswered(msg, `HTTP ${res.statusCode}`);
    } catch (e) {
      if (unreachable(e) && !this.abort.signal.aborted) this.failed();
      this.unanswered(msg, (e as Error).message);
    }
  }

  /** A request the server will not answer: the bridge gets an error for it. */
  private unanswered(msg: RpcMessage, why: string): void {
    if (msg.method === undefined || msg.id === undefined || msg.id === null) return;
    this.pending.done(msg.id);
    if (this.gone) return;
    this.onmessage?.({ jsonrpc: '2.0', id: msg.id, error: { code: -32603, message: why } });
  }

  /** The server failed: the session ends, and the backend learns of it. */
  private failed(): void {
    if (this.gone) return;
    this.o.onFailure?.();
    this.end();
  }

  /** The session is over without a DELETE (the server ended it, or is gone). */
  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.abort.abort();
    this.pending.clear();
    this.onclose?.();
  }

  /** The upstream session ends (DELETE, as a client leaving does). */
  close(): void {
    if (this.gone) return;
    const session = this.session;
    const h = this.head('application/json');
    this.gone = true;
    this.abort.abort();
    if (session)
      void this.call('DELETE', h, undefined, AbortSignal.timeout(5000))
        .then((r) => r.body.dump())
        .catch(() => undefined);
  }
}
