/**
 * The MCP 2026-07-28 side of a streamable HTTP backend: whether the server speaks that revision
 * (found by the first stateless request, found again after a failure), and the version bridge
 * that serves it over 2025 sessions when it does not.
 */
import type { Dispatcher } from 'undici';
import type { BackendConfig } from '../config/schema.js';
import { HeldBridges } from '../bridge/held.js';
import { type HttpCall, HttpUpstream } from '../bridge/http-upstream.js';
import { refusal } from '../bridge/revision.js';
import type { RpcMessage } from '../mcp/jsonrpc.js';
import type { McpForward } from './backend.js';
import { answersAs2025, outgoing, serveBridged, statelessRequest } from './http-version.js';
import { relayHead } from './relay.js';

/** `auto` before the transport is known: the principal's HTTP+SSE bridge, when the server speaks HTTP+SSE. */
export type SseProbe = (fwd: McpForward) => Promise<HeldBridges | undefined>;

export class StatelessSide {
  /** Whether the server speaks 2026-07-28 itself (undefined: not known yet). */
  native?: boolean;
  /** MCP 2026-07-28 clients of a 2025 server: one upstream session per principal. */
  readonly bridges: HeldBridges;

  constructor(
    private readonly http: NonNullable<BackendConfig['http']>,
    call: HttpCall,
    private readonly name: string,
  ) {
    if (http.protocol === '2025') this.native = false;
    this.bridges = new HeldBridges({
      create: () => new HttpUpstream(call, { onFailure: () => this.forget() }),
      resumeTimeoutMs: () => http.timeout,
      idleMs: () => http.idleTimeout,
    });
  }

  /** The server failed: whether it speaks 2026-07-28 is found out again (unless configured). */
  forget(): void {
    if (this.http.protocol !== '2025') this.native = undefined;
  }

  /** A stateless request for a server known to speak 2025: bridged. */
  bridged(fwd: McpForward): boolean {
    return this.native === false && statelessRequest(fwd);
  }

  /** The request that finds out (the first stateless POST the revision's checks pass): its message. */
  probe(fwd: McpForward): RpcMessage | undefined {
    if (this.native !== undefined || fwd.req.method !== 'POST' || !statelessRequest(fwd)) return undefined;
    const first = outgoing(fwd)?.messages[0];
    return first && !refusal(fwd.req.headers, first) ? first : undefined;
  }

  /**
   * The server's answer to the probe. A 2025 server's (400, 404, -32601 to `server/discover`)
   * marks it 2025 and the request is bridged; an HTTP+SSE server's 4xx (`sse`) bridges it over
   * that transport. True when the reply was sent here; false: the caller relays `res`.
   */
  async answered(
    fwd: McpForward,
    res: Dispatcher.ResponseData<unknown>,
    first: RpcMessage,
    sse?: SseProbe,
  ): Promise<boolean> {
    const { req, reply } = fwd;
    const code = res.statusCode;
    let seen: { old: boolean; text?: string };
    if (sse && code >= 400 && code < 500 && code !== 401 && code !== 403) {
      const text = await res.body.text();
      const bridges = await sse(fwd);
      if (bridges) return serveBridged(fwd, bridges).then(() => true);
      seen = await answersAs2025(res, first, text);
    } else seen = await answersAs2025(res, first);
    if (seen.old) {
      this.native = false;
      req.log.info({ event: 'mcp.revision_detected', backend: this.name }, 'backend speaks MCP 2025: bridged');
      await serveBridged(fwd, this.bridges);
      return true;
    }
    if (code < 400) this.native = true;
    if (seen.text === undefined) return false;
    relayHead(reply, res);
    await reply.send(seen.text);
    return true;
  }

  inherit(old: StatelessSide): void {
    if (this.http.protocol !== '2025') this.native = old.native;
  }

  get size(): number {
    return this.bridges.size;
  }

  endUser(sub: string): Promise<void> {
    return this.bridges.endUser(sub);
  }

  close(): Promise<void> {
    return this.bridges.endAll();
  }
}
