/**
 * A virtual server (`virtualServers`, DESIGN.md §12) as a backend of the `/mcp/<name>` route: the
 * pipeline authenticates, limits and audits as for any backend; this class holds the client
 * sessions (each owned by its principal: another one gets 404) and their member sessions. An MCP
 * 2026-07-28 client is served through the version bridge (src/bridge/), over one virtual session
 * per principal.
 */
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyReply } from 'fastify';
import { bridgedCall } from '../../bridge/entry.js';
import { statelessAttempt } from '../../bridge/revision.js';
import { PrincipalBridges } from '../../bridge/sessions.js';
import { replySink } from '../../bridge/sink.js';
import type { BackendConfig } from '../../config/schema.js';
import type { VirtualServerConfig } from '../../config/virtual-schema.js';
import { principalKey } from '../../identity/principal.js';
import type { Backend, BackendStats, BackendStatus, McpForward } from '../backend.js';
import { MEMBER_TIMEOUT_MS } from './handlers.js';
import { type VirtualDeps, VirtualSession } from './session.js';
import { VirtualUpstream } from './upstream.js';

const IDLE_MS = 60 * 60_000;

const rpcError = (reply: FastifyReply, status: number, code: number, message: string) =>
  reply.code(status).type('application/json').send({ jsonrpc: '2.0', id: null, error: { code, message } });

export class VirtualBackend implements Backend {
  readonly config: BackendConfig;
  readonly audience: string[];
  readonly keepsSessions = true;
  private readonly sessions = new Map<
    string,
    { s: VirtualSession; transport: StreamableHTTPServerTransport; timer: NodeJS.Timeout }
  >();
  /** MCP 2026-07-28 clients: the version bridge over a virtual session per principal, ended when idle. */
  private readonly bridges = new PrincipalBridges<VirtualUpstream>({
    resumeTimeoutMs: () => MEMBER_TIMEOUT_MS,
    endUpstream: (up) => up.close(),
  });
  private readonly reaper = setInterval(() => this.bridges.endIdle(Date.now() - IDLE_MS), 60_000).unref();

  constructor(
    readonly virtual: VirtualServerConfig,
    private readonly deps: VirtualDeps,
  ) {
    // No policy of its own: each member's applies to its part, per principal, at the member's route.
    this.config = Object.freeze({
      name: virtual.name,
      title: virtual.title,
      description: virtual.description,
      forwardAccessToken: false,
      default: false,
    }) as BackendConfig;
    this.audience = [virtual.name];
  }

  get name(): string {
    return this.virtual.name;
  }

  async forward(f: McpForward): Promise<void> {
    const { reply, request, principal } = f;
    if (statelessAttempt(f.req.headers, request.batch ? undefined : request.messages[0])) return this.stateless(f);
    const sid = request.sessionId;
    const body = request.json?.value ?? (request.raw?.length ? JSON.parse(request.raw.toString()) : undefined);
    if (sid) {
      const held = this.sessions.get(sid);
      if (!held || held.s.owner !== principalKey(principal)) {
        rpcError(reply, 404, -32001, 'Session not found');
        return;
      }
      held.timer.refresh();
      held.s.seen(principal);
      reply.hijack();
      await held.transport.handleRequest(f.req.raw, reply.raw, body);
      return;
    }
    const init = request.messages.find((m) => m.method === 'initialize');
    if (request.method !== 'POST' || !init) {
      rpcError(reply, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return;
    }
    const s = new VirtualSession(this.virtual, principal, this.deps);
    const params = (init.params ?? {}) as { capabilities?: Record<string, unknown> };
    const onClose = async () => {
      for (const [id, held] of this.sessions) if (held.s === s) await this.end(id);
    };
    // A DELETE is answered once the member sessions are ended too.
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        const timer = setTimeout(() => void this.end(id), IDLE_MS);
        timer.unref();
        this.sessions.set(id, { s, transport, timer });
      },
      onsessionclosed: onClose,
    });
    transport.onclose = () => void onClose();
    await s.open(params.capabilities ?? {}, transport);
    reply.hijack();
    await transport.handleRequest(f.req.raw, reply.raw, body);
    if (![...this.sessions.values()].some((h) => h.s === s)) await s.close(); // initialize refused
  }

  /**
   * One MCP 2026-07-28 request (no session, no handshake), through the version bridge: checked,
   * then served over the principal's virtual session (its members' 2025 sessions), opened on first use.
   */
  private async stateless({ req, reply, principal, request }: McpForward): Promise<void> {
    const m = bridgedCall(req, reply, request.messages, request.batch);
    if (!m) return;
    const { up, bridge } = this.bridges.entry(
      principal,
      () => new VirtualUpstream(new VirtualSession(this.virtual, principal, this.deps)),
    );
    up.session.seen(principal);
    await bridge.handle(m, replySink(req, reply));
  }

  private async end(id: string): Promise<void> {
    const held = this.sessions.get(id);
    if (!held) return;
    this.sessions.delete(id);
    clearTimeout(held.timer);
    await held.s.close();
  }

  async status(): Promise<BackendStatus> {
    const members = this.virtual.backends.map((b) => b.name);
    return { ok: true, kind: 'virtual', detail: `virtual server over ${members.join(', ')}`, members };
  }

  stats(): BackendStats {
    return { sessions: this.sessions.size + this.bridges.size };
  }

  async endUser(sub: string): Promise<void> {
    await this.bridges.endUser(sub);
    await Promise.all([...this.sessions].filter(([, h]) => h.s.owner === sub).map(([id]) => this.end(id)));
  }

  holds(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  inherit(): void {}

  adopt(): void {}

  async drain(): Promise<void> {
    this.bridges.endIdle();
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    await this.bridges.endAll();
    await Promise.all([...this.sessions.keys()].map((id) => this.end(id)));
  }
}
