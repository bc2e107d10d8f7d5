/**
 * A virtual server (`virtualServers`, DESIGN.md §12) as a backend of the `/mcp/<name>` route: the
 * pipeline authenticates, limits and audits as for any backend; this class holds the client
 * sessions (each owned by its principal: another one gets 404) and their member sessions.
 */
import type { FastifyReply } from 'fastify';
import type { BackendConfig } from '../../config/schema.js';
import type { VirtualServerConfig } from '../../config/virtual-schema.js';
import { principalKey } from '../../identity/principal.js';
import type { Backend, BackendStats, BackendStatus, McpForward } from '../backend.js';
import { type VirtualDeps, VirtualSession } from './session.js';

const IDLE_MS = 60 * 60_000;

const rpcError = (reply: FastifyReply, status: number, code: number, message: string) =>
  reply.code(status).type('application/json').send({ jsonrpc: '2.0', id: null, error: { code, message } });

export class VirtualBackend implements Backend {
  readonly config: BackendConfig;
  readonly audience: string[];
  readonly keepsSessions = true;
  private readonly sessions = new Map<string, { s: VirtualSession; timer: NodeJS.Timeout }>();

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
      await held.s.transport.handleRequest(f.req.raw, reply.raw, body);
      return;
    }
    const init = request.messages.find((m) => m.method === 'initialize');
    if (request.method !== 'POST' || !init) {
      rpcError(reply, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return;
    }
    const s = new VirtualSession(this.virtual, principal, this.deps);
    const params = (init.params ?? {}) as { capabilities?: Record<string, unknown> };
    await s.open(
      params.capabilities ?? {},
      (id) => {
        const timer = setTimeout(() => void this.end(id), IDLE_MS);
        timer.unref();
        this.sessions.set(id, { s, timer });
      },
      async () => {
        for (const [id, held] of this.sessions) if (held.s === s) await this.end(id);
      },
    );
    reply.hijack();
    await s.transport.handleRequest(f.req.raw, reply.raw, body);
    if (![...this.sessions.values()].some((h) => h.s === s)) await s.close(); // initialize refused
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
    return { sessions: this.sessions.size };
  }

  async endUser(sub: string): Promise<void> {
    await Promise.all([...this.sessions].filter(([, h]) => h.s.owner === sub).map(([id]) => this.end(id)));
  }

  holds(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  inherit(): void {}

  adopt(): void {}

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.end(id)));
  }
}
