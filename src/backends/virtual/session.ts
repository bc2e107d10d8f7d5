/**
 * One client session on a virtual server: an SDK server for the client (a 2025 session over
 * streamable HTTP, or the version bridge's upstream session: upstream.ts) and one member session
 * per backend, opened at initialize with the client's capabilities. Member notifications reach
 * the client (on the stream of the request they belong to, else its GET stream); a member's
 * server→client requests go to the client and the answer back to that member.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type ClientCapabilities, ResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import type { VirtualServerConfig } from '../../config/virtual-schema.js';
import type { PrincipalHandoff } from '../../identity/handoff.js';
import { principalKey, type Principal } from '../../identity/principal.js';
import { causedBy, registerHandlers } from './handlers.js';
import type { Inject } from './inject-fetch.js';
import { mergeCapabilities, ResourceOwners } from './merge.js';
import { type MemberHooks, MemberLink } from './member.js';

export interface VirtualDeps {
  /** This proxy's app: member requests are in-process (set once the app exists). */
  inject: () => Inject;
  handoff: PrincipalHandoff;
  publicUrl: string;
  log: FastifyBaseLogger;
}

export class VirtualSession {
  readonly owner: string;
  readonly members: MemberLink[];
  readonly owners = new ResourceOwners();
  private server!: Server;
  private readonly handle: string;
  private clientCaps: ClientCapabilities = {};
  private closed = false;

  constructor(
    private readonly cfg: VirtualServerConfig,
    principal: Principal,
    private readonly deps: VirtualDeps,
  ) {
    this.owner = principalKey(principal);
    this.handle = deps.handoff.issue(principal);
    this.members = cfg.backends.map((b) => new MemberLink(b.name, b.prefix, deps.inject, deps.publicUrl));
  }

  /** The principal's latest view (groups, scopes) is what members judge. */
  seen(p: Principal): void {
    this.deps.handoff.update(this.handle, p);
  }

  /** Connects the members, then serves the client (over `transport`) with what they offer together. */
  async open(clientCaps: ClientCapabilities, transport: Transport): Promise<void> {
    this.clientCaps = clientCaps;
    await this.reconnect();
    const instructions = this.members
      .filter((m) => m.instructions)
      .map((m) => `${m.prefix}_*: ${m.instructions}`)
      .join('\n\n');
    const capabilities = mergeCapabilities(this.members);
    this.server = new Server(
      { name: this.cfg.name, title: this.cfg.title, version: '1' },
      { capabilities, instructions: instructions || undefined },
    );
    registerHandlers(this.server, capabilities, {
      members: this.members,
      owners: this.owners,
      log: this.deps.log,
      reconnect: () => this.reconnect(),
    });
    await this.server.connect(transport);
  }

  /** Members that are not up try again; one still down is logged and left out. */
  async reconnect(): Promise<void> {
    const down = this.members.filter((m) => !m.up);
    await Promise.all(down.map((m) => m.connect(this.handle, this.clientCaps, this.hooks)));
    for (const m of down.filter((x) => !x.up))
      this.deps.log.warn(
        { event: 'virtual.member_down', virtual: this.cfg.name, backend: m.name, reason: m.failure },
        'a member of a virtual server is unavailable: its tools, prompts and resources are left out',
      );
  }

  private readonly hooks: MemberHooks = {
    notify: async (_m, n) => {
      if (this.closed) return;
      const relatedRequestId = causedBy.getStore();
      await this.server
        .notification(n as never, relatedRequestId === undefined ? undefined : { relatedRequestId })
        .catch((e: Error) => this.deps.log.debug({ event: 'virtual.notify_failed', reason: e.message }));
    },
    ask: async (_m, r, signal) => {
      const relatedRequestId = causedBy.getStore();
      return this.server.request(r as never, ResultSchema, { relatedRequestId, signal, timeout: 10 * 60_000 });
    },
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.members.map((m) => m.close())); // the DELETEs still speak as the principal
    this.deps.handoff.withdraw(this.handle);
    await this.server?.close().catch(() => undefined);
  }
}
