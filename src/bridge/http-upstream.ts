/**
 * A 2025 streamable-HTTP MCP session as the version bridge's upstream (one per principal), and
 * the bridges of one HTTP backend.
 */
import type { Readable } from 'node:stream';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import type { Principal } from '../identity/principal.js';
import type { RequestId, RpcMessage } from '../mcp/jsonrpc.js';
import { type BridgeEntry, PrincipalBridges } from './sessions.js';
import type { Upstream2025 } from './upstream.js';

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

export class HttpUpstream implements Upstream2025 {
  onmessage?: (msg: RpcMessage, relatedRequestId?: RequestId) => void;
  onclose?: () => void;
  /** The identity headers, assertion and upstream credential of the latest request (set per request). */
  headers: Record<string, string> = {};
  private session?: string;
  private version = LATEST_PROTOCOL_VERSION;
  private init?: Promise<Record<string, unknown>>;
  private readonly abort = new AbortController();
  private gone = false;
  /** The bridge's requests the server has not answered yet. */
  private readonly pending = new Set<RequestId>();

  constructor(private readonly call: HttpCall) {}

  private head(accept: string): Record<string, string> {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.headers))
      if (!OWN.has(k.toLowerCase()) && !OWN_PREFIX.some((p) => k.toLowerCase().startsWith(p))) h[k] = v;
    h.accept = accept;
    h['mcp-protocol-version'] = this.version;
    if (this.session) h['mcp-session-id'] = this.session;
    return h;
  }

  ready(): Promise<Record<string, unknown>> {
    this.init ??= this.initialize();
    return this.init;
  }

  private async initialize(): Promise<Record<string, unknown>> {
    const id = 'bridge-init';
    const params = {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: { sampling: {}, elicitation: {} },
      clientInfo: { name: 'mcp-oidc-proxy-bridge', version: '1' },
    };
    const res = await this.post({ jsonrpc: '2.0', id, method: 'initialize', params });
    const sid = res.headers['mcp-session-id'];
    if (typeof sid === 'string') this.session = sid;
    let result: Record<string, unknown> | undefined;
    for await (const m of this.messages(res))
      if (m.id === id) {
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

  /** The session's GET stream (server→client requests and notifications); none when the server offers none. */
  private async listen(): Promise<void> {
    try {
      const res = await this.call('GET', this.head('text/event-stream'), undefined, this.abort.signal);
      if (res.statusCode !== 200) return void (await res.body.dump());
      for await (const m of sseMessages(res.body)) this.onmessage?.(m, this.cause());
    } catch {
      // closed, or the server dropped the stream: requests still carry their answers
    }
  }

  /**
   * The request a message on the GET stream belongs to: the one request in flight; with several
   * (or none) nobody is guessed (as stdio's bridge does).
   */
  private cause(): RequestId | undefined {
    if (this.pending.size !== 1) return undefined;
    const [only] = this.pending;
    return only;
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

  private async deliver(msg: RpcMessage): Promise<void> {
    const request = msg.method !== undefined && msg.id !== undefined && msg.id !== null;
    if (request) this.pending.add(msg.id!);
    try {
      await this.ready();
      const res = await this.post(msg);
      if (res.statusCode === 404 && this.session) {
        await res.body.dump();
        return this.end(); // the server ended the session: the bridge answers what was open
      }
      let answered = false;
      for await (const m of this.messages(res)) {
        if (request && m.method === undefined && m.id === msg.id) {
          answered = true;
          this.pending.delete(msg.id!);
        }
        this.onmessage?.(m, request ? msg.id! : undefined);
      }
      this.pending.delete(msg.id!);
      if (request && !answered)
        this.onmessage?.({ jsonrpc: '2.0', id: msg.id!, error: { code: -32603, message: `HTTP ${res.statusCode}` } });
    } catch (e) {
      this.pending.delete(msg.id!);
      if (!request || this.gone) return;
      this.onmessage?.({ jsonrpc: '2.0', id: msg.id!, error: { code: -32603, message: (e as Error).message } });
    }
  }

  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.abort.abort();
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

/** The version bridges of one HTTP backend: one upstream session per principal, ended when idle or at logout. */
export class HttpBridges extends PrincipalBridges<HttpUpstream> {
  constructor(
    private readonly call: HttpCall,
    resumeTimeoutMs: () => number,
  ) {
    super({ resumeTimeoutMs, endUpstream: (up) => up.close() });
  }

  /** The principal's bridge, its upstream session carrying this request's headers. */
  get(principal: Principal, headers: Record<string, string>): BridgeEntry<HttpUpstream> {
    const entry = this.entry(principal, () => new HttpUpstream(this.call));
    entry.up.headers = headers;
    return entry;
  }
}
