/**
 * One member backend of a virtual server, for one client session: a real SDK client whose requests
 * go through this proxy's own `/mcp/<member>` route in-process, as the session's principal (a
 * handoff handle, identity/handoff.ts) — so the member's policy, audit, identity propagation and
 * backend are exactly those of a direct client. A member that cannot be reached is `down`.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { HANDOFF_HEADER } from '../../identity/handoff.js';
import { type Inject, injectFetch } from './inject-fetch.js';

export interface MemberHooks {
  /** A notification from the member (list changes, resource updates, logs). */
  notify(member: MemberLink, n: { method: string; params?: Record<string, unknown> }): Promise<void>;
  /** A server→client request from the member (sampling, elicitation, roots): the client's answer. */
  ask(
    member: MemberLink,
    r: { method: string; params?: Record<string, unknown> },
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
}

export class MemberLink {
  client?: Client;
  private transport?: StreamableHTTPClientTransport;
  /** Why the last connection attempt failed (logged; the member's part is missing meanwhile). */
  failure?: string;

  constructor(
    readonly name: string,
    readonly prefix: string,
    private readonly inject: () => Inject,
    private readonly base: string,
  ) {}

  get up(): boolean {
    return this.client !== undefined;
  }

  get capabilities(): ServerCapabilities {
    return this.client?.getServerCapabilities() ?? {};
  }

  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  private connecting?: Promise<void>;

  /** One attempt at a time: concurrent lists share it (no second member session). */
  connect(handle: string, capabilities: ClientCapabilities, hooks: MemberHooks): Promise<void> {
    this.connecting ??= this.attempt(handle, capabilities, hooks).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async attempt(handle: string, capabilities: ClientCapabilities, hooks: MemberHooks): Promise<void> {
    const transport = new StreamableHTTPClientTransport(new URL(`${this.base}/mcp/${this.name}`), {
      fetch: injectFetch(this.inject, { [HANDOFF_HEADER]: handle, host: new URL(this.base).host }),
    });
    const client = new Client({ name: 'mcp-oidc-proxy-virtual', version: '1' }, { capabilities });
    client.fallbackNotificationHandler = (n) => hooks.notify(this, n as never);
    client.fallbackRequestHandler = (r, extra) => hooks.ask(this, r as never, extra.signal) as never;
    try {
      await client.connect(transport);
      this.client = client;
      this.transport = transport;
      this.failure = undefined;
    } catch (e) {
      this.failure = (e as Error).message;
      await client.close().catch(() => undefined);
    }
  }

  /** The member's session is gone (404: its backend restarted or expired it): down until reconnected. */
  lost(e: unknown): void {
    if (!(e instanceof StreamableHTTPError) || e.code !== 404 || !this.client) return;
    const client = this.client;
    this.client = undefined;
    this.transport = undefined;
    this.failure = 'its session ended';
    void client.close().catch(() => undefined);
  }

  /** Ends the member session (DELETE: the backend ends it too). */
  async close(): Promise<void> {
    const { client, transport } = this;
    this.client = undefined;
    this.transport = undefined;
    await transport?.terminateSession().catch(() => undefined);
    await client?.close().catch(() => undefined);
  }
}

/**
 * A member's refusal as the JSON-RPC error it sent: a policy refusal is an HTTP 403 whose body is a
 * JSON-RPC error (-32003), which the SDK client reports as a transport error carrying that body.
 */
export function memberError(e: unknown): unknown {
  if (!(e instanceof StreamableHTTPError)) return e;
  const body = e.message.slice(e.message.indexOf('{'));
  try {
    const err = (JSON.parse(body) as { error?: { code?: number; message?: string; data?: unknown } }).error;
    if (typeof err?.code === 'number') return new McpError(err.code, err.message ?? 'refused', err.data);
  } catch {
    /* not a JSON-RPC body */
  }
  return e;
}
