/**
 * The version bridge: MCP 2026-07-28 requests served over one upstream 2025 session (per
 * principal and backend). Answers `server/discover` from the InitializeResult, shapes results
 * (`resultType`, cache hints), turns the server's requests into input-required results resumed
 * on the next round trip, checks the client's per-request capabilities, passes logs only at a
 * requested level, and serves `subscriptions/listen` from list-changed notifications and
 * 2025 subscriptions. Transport-neutral: see Upstream2025 and ExchangeSink.
 */
import { randomBytes } from 'node:crypto';
import { INTERNAL_ERROR, rpcError, type RequestId, type RpcMessage } from '../mcp/jsonrpc.js';
import { Listeners } from './listen.js';
import { bridgedResult, discoverResult } from './results.js';
import {
  CLIENT_CAPABILITIES_META,
  INVALID_PARAMS,
  LOG_LEVEL_META,
  METHOD_NOT_FOUND,
  MISSING_CLIENT_CAPABILITY,
  upstreamParams,
} from './revision.js';
import type { ExchangeSink } from './sink.js';
import type { Upstream2025 } from './upstream.js';

/** The client capability each server→client request needs. */
const NEEDS: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

interface Call {
  upstreamId: string;
  method: string;
  name?: unknown;
  clientId: RequestId;
  capabilities: Record<string, unknown>;
  /** Lowest level of `notifications/message` the client asked for; none: no logs. */
  logRank: number;
  /** Undefined while suspended on an input-required result. */
  sink?: ExchangeSink;
  /** Server requests waiting for the client's input, by input key. */
  inputs: Map<string, RequestId>;
  state?: string;
  timer?: NodeJS.Timeout;
}

export interface BridgeOptions {
  /** How long a suspended request waits for the client's next round trip. */
  resumeTimeoutMs: number;
}

export class VersionBridge {
  private readonly calls = new Map<string, Call>();
  private readonly suspended = new Map<string, Call>();
  private readonly listeners: Listeners;
  private nextId = 1;
  lastActive = Date.now();

  constructor(
    private readonly up: Upstream2025,
    private readonly opts: BridgeOptions,
  ) {
    up.onmessage = (m, related) => this.fromUpstream(m, related);
    up.onclose = () => this.closed();
    up.onrenew = () => this.listeners.renewed();
    this.listeners = new Listeners(up, () => `bridge-${this.nextId++}`);
  }

  /** Requests in flight, suspended, or streams open: not idle. */
  get busy(): boolean {
    return this.calls.size > 0 || this.listeners.size > 0;
  }

  /** One checked 2026-07-28 request (see revision.ts `refusal`); its answer goes to `sink`. */
  async handle(m: RpcMessage & { id: RequestId; method: string }, sink: ExchangeSink): Promise<void> {
    this.lastActive = Date.now();
    let init: Record<string, unknown>;
    try {
      init = await this.up.ready();
    } catch (e) {
      return sink.end(502, rpcError(m.id, INTERNAL_ERROR, `the server did not initialize: ${(e as Error).message}`));
    }
    if (m.method === 'server/discover')
      return sink.end(200, { jsonrpc: '2.0', id: m.id, result: discoverResult(init) });
    if (m.method === 'subscriptions/listen') return this.listeners.listen(m, init, sink);
    const state = m.params?.requestState;
    if (typeof state === 'string') return this.resume(m, state, sink);
    const meta = (m.params?._meta ?? {}) as Record<string, unknown>;
    const level = LEVELS.indexOf(String(meta[LOG_LEVEL_META]));
    const call: Call = {
      upstreamId: `bridge-${this.nextId++}`,
      method: m.method,
      name: m.params?.name,
      clientId: m.id,
      capabilities: (meta[CLIENT_CAPABILITIES_META] ?? {}) as Record<string, unknown>,
      logRank: level < 0 ? LEVELS.length : level,
      inputs: new Map(),
    };
    this.attach(call, sink);
    this.calls.set(call.upstreamId, call);
    this.up.send({ jsonrpc: '2.0', id: call.upstreamId, method: m.method, params: upstreamParams(m.params) });
  }

  /** The client's next round trip: its input answers the server's waiting requests, the call goes on. */
  private resume(m: RpcMessage & { id: RequestId; method: string }, state: string, sink: ExchangeSink) {
    const call = this.suspended.get(state);
    if (!call || call.method !== m.method || call.name !== m.params?.name)
      return sink.end(400, rpcError(m.id, INVALID_PARAMS, 'Invalid params: unknown or expired requestState'));
    const responses = (m.params?.inputResponses ?? {}) as Record<string, unknown>;
    const missing = [...call.inputs.keys()].filter((k) => !responses || typeof responses[k] !== 'object');
    if (missing.length)
      return sink.end(
        400,
        rpcError(m.id, INVALID_PARAMS, `Invalid params: inputResponses lacks ${missing.join(', ')}`),
      );
    this.suspended.delete(state);
    clearTimeout(call.timer);
    call.clientId = m.id;
    this.attach(call, sink);
    for (const [key, serverId] of call.inputs) this.up.send({ jsonrpc: '2.0', id: serverId, result: responses[key] });
    call.inputs.clear();
  }

  private attach(call: Call, sink: ExchangeSink) {
    call.sink = sink;
    sink.onClose(() => {
      if (call.sink === sink) this.abandon(call, 'the client went away');
    });
  }

  private fromUpstream(m: RpcMessage, related?: RequestId) {
    this.lastActive = Date.now();
    if (m.method === undefined) return this.answer(m);
    if (m.id !== undefined && m.id !== null)
      return this.serverRequest(m as RpcMessage & { id: RequestId; method: string }, related);
    if (this.listeners.offer(m)) return;
    const call = related === undefined ? undefined : this.calls.get(String(related));
    if (!call?.sink) return;
    if (m.method === 'notifications/progress') return call.sink.notify(m);
    if (m.method === 'notifications/message' && LEVELS.indexOf(String(m.params?.level)) >= call.logRank)
      call.sink.notify(m);
  }

  private answer(m: RpcMessage) {
    if (this.listeners.answered(m)) return;
    const call = this.calls.get(String(m.id));
    if (!call) return;
    this.finish(call);
    const error = m.error as { code?: number } | undefined;
    if (error) return call.sink?.end(error.code === METHOD_NOT_FOUND ? 404 : 200, { ...m, id: call.clientId });
    call.sink?.end(200, { jsonrpc: '2.0', id: call.clientId, result: bridgedResult(call.method, m.result) });
  }

  /**
   * A server→client request: the call it came with ends in an input-required result (or, when
   * the client did not declare the capability it needs, in MissingRequiredClientCapability).
   */
  private serverRequest(m: RpcMessage & { id: RequestId; method: string }, related?: RequestId) {
    const call = related === undefined ? undefined : this.calls.get(String(related));
    if (!call?.sink) {
      this.up.send(rpcError(m.id, METHOD_NOT_FOUND, `no MCP 2026-07-28 request can take ${m.method}`));
      return;
    }
    const need = NEEDS[m.method];
    if (!need || call.capabilities[need] == null) {
      this.up.send(rpcError(m.id, METHOD_NOT_FOUND, `the client did not declare the capability ${m.method} needs`));
      const sink = call.sink;
      this.abandon(call, 'the client lacks a capability the request needs');
      return sink.end(
        400,
        rpcError(call.clientId, MISSING_CLIENT_CAPABILITY, `Missing required client capability: ${need ?? m.method}`, {
          requiredCapabilities: { [need ?? m.method]: {} },
        }),
      );
    }
    const key = `input-${this.nextId++}`;
    call.inputs.set(key, m.id);
    const state = randomBytes(18).toString('base64url');
    const sink = call.sink;
    call.sink = undefined;
    call.state = state;
    this.suspended.set(state, call);
    call.timer = setTimeout(
      () => this.abandon(call, 'the client did not come back with input'),
      this.opts.resumeTimeoutMs,
    );
    call.timer.unref();
    const { _meta, ...params } = m.params ?? {};
    sink.end(200, {
      jsonrpc: '2.0',
      id: call.clientId,
      result: {
        resultType: 'input_required',
        inputRequests: { [key]: { method: m.method, params } },
        requestState: state,
      },
    });
  }

  /** The call will not be answered: the server is told to stop, its waiting requests refused. */
  private abandon(call: Call, reason: string) {
    if (!this.calls.has(call.upstreamId)) return;
    this.finish(call);
    for (const serverId of call.inputs.values()) this.up.send(rpcError(serverId, INTERNAL_ERROR, reason));
    this.up.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: call.upstreamId, reason } });
  }

  private finish(call: Call) {
    this.calls.delete(call.upstreamId);
    clearTimeout(call.timer);
    if (call.state) this.suspended.delete(call.state);
  }

  /** The upstream session is gone: every open request is answered. */
  private closed() {
    for (const call of [...this.calls.values()]) {
      this.finish(call);
      call.sink?.end(502, rpcError(call.clientId, INTERNAL_ERROR, 'the MCP server went away'));
    }
    this.listeners.closeAll();
  }

  /** Ends open requests and listen streams (the bridge is dropped). */
  close(): void {
    for (const call of [...this.calls.values()]) {
      const sink = call.sink;
      this.abandon(call, 'the proxy closed the session');
      sink?.end(503, rpcError(call.clientId, INTERNAL_ERROR, 'the proxy closed the session'));
    }
    this.listeners.closeAll();
  }
}
