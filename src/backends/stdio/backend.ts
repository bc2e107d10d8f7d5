/**
 * stdio backends: streamable HTTP outside (McpHttpSession, one per MCP session), newline
 * JSON-RPC inside (ChildBridge). Children are keyed by isolation: one per session,
 * per user, or one for all; bounded by maxProcesses (global and per user) and reaped when idle.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { BackendConfig } from '../../config/schema.js';
import { Errors } from '../../errors.js';
import { principalKey, type Principal } from '../../identity/principal.js';
import { filterListResult } from '../../policy/engine.js';
import { foreignSession, type SessionIds } from '../../mcp/session-owners.js';
import { bridgedCall } from '../../bridge/entry.js';
import { statelessAttempt } from '../../bridge/revision.js';
import { replySink } from '../../bridge/sink.js';
import type { Backend, BackendStats, BackendStatus, McpForward } from '../backend.js';
import type { McpRequest } from '../../mcp/request.js';
import type { Store } from '../../store/store.js';
import type { Replicas } from '../../mcp/replicas.js';
import { ChildBridge, type SessionLink } from './bridge.js';
import { McpHttpSession } from './http-session.js';
import { SessionHomes } from './homes.js';
import { BridgeSessions } from './stateless-upstream.js';
import { commandExists } from '../../lib/commands.js';
import type { UpstreamCredential, UpstreamCredentials } from '../../upstream/credentials.js';
import { spawnChild } from './spawn.js';
import type { ChildToken, TokenFile } from './token-file.js';

interface StdioSession {
  link: SessionLink;
  http: McpHttpSession;
  bridge: ChildBridge;
  /** When the shared-store record was last written (0: never). */
  registeredAt: number;
}

export interface StdioBackendDeps {
  log: FastifyBaseLogger;
  /** Shared state (session owners) when replicas share a store. */
  store?: Store;
  /** Sessions reachable from every replica (server.advertiseUrl with a shared store). */
  replicas?: Replicas;
  /** Policy is enforced now (false in `policy.mode: dry-run`: lists are not filtered); read as each session opens. */
  enforced(): boolean;
  /** Seals HTTP backends' session ids with their owner. */
  sessionIds: SessionIds;
  /** Renews the upstream token files of children of backends with `upstream.env`. */
  upstream?: Pick<UpstreamCredentials, 'credentialFor'>;
}

export class StdioBackend implements Backend {
  readonly audience: string[];
  /** MCP sessions live here, with their processes: a retired backend serves them until they end. */
  readonly keepsSessions = true;
  private readonly stdio: NonNullable<BackendConfig['stdio']>;
  private readonly sessions = new Map<string, StdioSession>();
  private readonly bridges = new Map<string, ChildBridge>();
  /** Version bridges (MCP 2026-07-28 clients), one upstream session per principal. */
  private readonly upstreams: BridgeSessions;
  private readonly reaper: NodeJS.Timeout;
  private readonly log: FastifyBaseLogger;
  private readonly homes: SessionHomes;
  private readonly tokenFiles = new WeakMap<ChildBridge, TokenFile<Principal>>();
  private closing = false;

  constructor(
    private definition: BackendConfig,
    private readonly deps: StdioBackendDeps,
  ) {
    this.stdio = definition.stdio!;
    this.audience = [definition.name];
    this.log = deps.log.child({ backend: definition.name });
    this.homes = new SessionHomes(definition.name, deps.replicas, () => this.stdio.idleTimeout + 60_000);
    this.upstreams = new BridgeSessions({
      childFor: (p, credential) => {
        if (this.closing) throw new Errors.BACKEND_BUSY(this.name);
        const own = this.stdio.isolation === 'session';
        return this.bridgeFor(p, credential, own ? `bridge:${principalKey(p)}` : undefined);
      },
      filterFor: (p) =>
        this.deps.enforced() ? (method, result) => filterListResult(p, this.config, method, result) : undefined,
      resumeTimeoutMs: () => this.stdio.requestTimeout,
      ownChild: () => this.stdio.isolation === 'session',
    });
    this.reaper = setInterval(() => this.reap(), Math.max(1000, Math.min(30_000, this.stdio.idleTimeout / 4)));
    this.reaper.unref();
  }

  get name(): string {
    return this.definition.name;
  }

  get config(): BackendConfig {
    return this.definition;
  }

  /** Same command, environment, isolation and identity (the reload checks that): only policy changes. */
  adopt(config: BackendConfig): void {
    this.definition = config;
  }

  /** Live child processes (for tests and status). */
  get processes(): number[] {
    return [...this.bridges.values()].map((b) => b.child.pid!).filter(Boolean);
  }

  async forward({ req, reply, principal, request, credential }: McpForward): Promise<void> {
    if (req.method === 'POST' && !request.json) throw new Errors.BAD_REQUEST('parse error: the body is not valid JSON');
    const sessionId = request.sessionId;
    if (statelessAttempt(req.headers, request.batch ? undefined : request.messages[0]))
      return this.stateless(req, reply, principal, request, credential);
    const initialize =
      req.method === 'POST' && request.messages.some((m) => m.method === 'initialize' && isInitializeRequest(m));
    let session: StdioSession;
    if (sessionId !== undefined) {
      const found = this.sessions.get(sessionId);
      if (!found) return this.homes.relay(req, reply, sessionId, principal);
      if (principalKey(found.link.principal) !== principalKey(principal))
        throw foreignSession(req, this.name, principal);
      session = found;
      this.homes.renew(session);
    } else if (initialize) {
      session = this.open(principal, false, credential);
      await this.register(session);
    } else {
      throw new Errors.BAD_REQUEST('Mcp-Session-Id header is required (initialize first)');
    }
    session.link.lastActive = Date.now();
    if (credential) await this.tokenFiles.get(session.bridge)?.offer(credential, principal);
    if (req.method === 'DELETE') {
      this.end(session.http.id);
      reply.code(200).send();
    } else if (req.method === 'GET') {
      session.http.get(req, reply);
    } else {
      session.http.post(req, reply, request, (m) => session.bridge.fromClient(session.link, m));
    }
  }

  /**
   * One MCP 2026-07-28 request (no session, no handshake), through the version bridge: checked,
   * then served over the principal's upstream session on the child its isolation gives (for
   * `isolation: session`, a child per principal, not per request).
   */
  private async stateless(
    req: McpForward['req'],
    reply: McpForward['reply'],
    principal: Principal,
    request: McpRequest,
    credential?: UpstreamCredential,
  ): Promise<void> {
    const m = bridgedCall(req, reply, request.messages, request.batch);
    if (!m) return;
    const { up, bridge } = this.upstreams.get(principal, credential);
    up.link.lastActive = Date.now();
    if (credential) await this.tokenFiles.get(up.child)?.offer(credential, principal);
    await bridge.handle(m, replySink(req, reply));
  }

  private open(principal: Principal, stateless = false, credential?: ChildToken): StdioSession {
    if (this.closing) throw new Errors.BACKEND_BUSY(this.name);
    const bridge = this.bridgeFor(principal, credential);
    const http = new McpHttpSession();
    const link: SessionLink = {
      id: http.id,
      principal,
      lastActive: Date.now(),
      get getStreamOpen() {
        return http.getStreamOpen;
      },
      deliver: (msg, relatedRequestId) => {
        if (!http.deliver(msg, relatedRequestId))
          this.log.debug({ event: 'stdio.undeliverable' }, 'message for a closed stream dropped');
      },
      filterResult: !this.deps.enforced()
        ? undefined
        : (method, result) => filterListResult(principal, this.config, method, result),
      gone: () => this.end(http.id),
      stateless,
    };
    const session = { link, http, bridge, registeredAt: 0 };
    this.sessions.set(http.id, session);
    bridge.attach(link);
    return session;
  }

  /** Records the session's home for the other replicas (fails closed: a session that cannot be recorded ends). */
  private async register(s: StdioSession): Promise<void> {
    try {
      await this.homes.record(s);
    } catch (e) {
      this.end(s.http.id);
      throw e;
    }
  }

  /** The child for this principal under the configured isolation; spawned within the limits. */
  private bridgeFor(p: Principal, credential?: ChildToken, fixedKey?: string): ChildBridge {
    const iso = this.stdio.isolation;
    const who = principalKey(p);
    const key = fixedKey ?? (iso === 'shared' ? '*' : iso === 'user' ? `user:${who}` : `session:${randomUUID()}`);
    const existing = this.bridges.get(key);
    if (existing && !existing.child.exited) return existing;
    const owned = [...this.bridges.values()].filter((b) => !b.child.exited);
    const perUser = this.stdio.maxProcessesPerUser;
    if (
      owned.length >= this.stdio.maxProcesses ||
      (perUser !== undefined && owned.filter((b) => b.owner === who).length >= perUser)
    ) {
      this.log.warn({ event: 'stdio.full', processes: owned.length, sub: p.sub }, 'stdio backend at maxProcesses');
      throw new Errors.BACKEND_BUSY(this.name);
    }
    const { child, tokenFile } = spawnChild(() => this.config, p, {
      key,
      credential,
      upstream: this.deps.upstream,
      log: this.log,
    });
    const bridge = new ChildBridge(child, {
      log: this.log,
      requestTimeoutMs: this.stdio.requestTimeout,
      meta: this.config.identity?.meta ?? true,
      shared: iso === 'shared',
      owner: iso === 'shared' ? undefined : who,
    });
    child.proc.once('exit', () => {
      if (this.bridges.get(key) === bridge) this.bridges.delete(key);
    });
    this.bridges.set(key, bridge);
    if (tokenFile) this.tokenFiles.set(bridge, tokenFile);
    return bridge;
  }

  /** End one MCP session; a child left with no session (per-session isolation, or idle) stops. */
  private end(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    this.sessions.delete(sessionId);
    this.deps.replicas?.release(this.name, sessionId);
    s.bridge.detach(s.link);
    s.http.close();
    if (this.stdio.isolation === 'session' && s.bridge.sessions.size === 0) void s.bridge.child.stop();
  }

  private reap(): void {
    const cutoff = Date.now() - this.stdio.idleTimeout;
    // An open GET stream alone does not keep a process: no request for idleTimeout ends the session.
    for (const [id, s] of this.sessions) if (s.link.lastActive < cutoff && !s.bridge.busy) this.end(id);
    this.upstreams.endIdle(cutoff);
    for (const b of this.bridges.values()) {
      if (b.sessions.size === 0 && b.lastActive < cutoff) {
        this.log.info({ event: 'stdio.reap', pid: b.child.pid }, 'idle stdio server stopped');
        void b.child.stop();
      }
    }
  }

  async status(): Promise<BackendStatus> {
    const ok = commandExists(this.stdio.command, this.stdio.env.PATH ?? process.env.PATH ?? '', this.stdio.cwd);
    const n = this.processes.length;
    return ok
      ? { ok: true, kind: 'stdio', detail: `${this.stdio.command} found; ${n} process${n === 1 ? '' : 'es'} running` }
      : { ok: false, kind: 'stdio', detail: `command not found: ${this.stdio.command}` };
  }

  holds(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  /** Nothing of an older definition carries over: its sessions stay with it until they end. */
  inherit(): void {}

  /**
   * Sessions held here, and live children: busy (a request in flight),
   * idle (sessions attached), detached (none: reaped when idle).
   */
  stats(): BackendStats {
    const processes = { busy: 0, idle: 0, detached: 0 };
    for (const b of this.bridges.values())
      if (!b.child.exited) processes[b.busy ? 'busy' : b.sessions.size ? 'idle' : 'detached']++;
    return { sessions: this.sessions.size, processes };
  }

  async endUser(sub: string): Promise<void> {
    for (const [id, s] of this.sessions) if (principalKey(s.link.principal) === sub) this.end(id);
    await this.upstreams.endUser(sub);
    await Promise.all([...this.bridges.values()].filter((b) => b.owner === sub).map((b) => b.child.stop()));
  }

  async drain(): Promise<void> {
    this.closing = true;
    for (const [id, s] of this.sessions) if (!s.bridge.busy) this.end(id);
    this.upstreams.endIdle();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.reaper);
    for (const id of [...this.sessions.keys()]) this.end(id);
    await this.upstreams.endAll();
    await Promise.all([...this.bridges.values()].map((b) => b.child.stop()));
    this.bridges.clear();
  }
}
