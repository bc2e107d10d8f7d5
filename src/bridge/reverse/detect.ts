/**
 * Which revision an HTTP backend speaks, found once and cached: a backend that refuses a 2025
 * `initialize` (400 or 404) and answers `server/discover` listing only 2026-07-28 or later revisions is
 * 2026-only. A failure upstream forgets the finding (the next `initialize` finds out again).
 * `http.protocol` in the config fixes the answer instead.
 */
import type { Readable } from 'node:stream';
import { isStatelessRevision } from '../../mcp/stateless.js';
import { type ClientFacts, messagesOf, statelessRequest, upstreamHeaders } from './wire.js';

/** One POST to the backend's MCP URL. */
export interface Upstream {
  post(
    headers: Record<string, string>,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; type: string; body: Readable }>;
}

export type ProtocolSetting = 'auto' | '2025' | '2026-07-28';

const PROBE_CLIENT: ClientFacts = { capabilities: {} };

/** `server/discover` at the backend: its result, or undefined when it is no 2026-07-28-only server. */
export async function discover(
  upstream: Upstream,
  identity: Record<string, string>,
  client: ClientFacts = PROBE_CLIENT,
): Promise<Record<string, unknown> | undefined> {
  const { body } = statelessRequest({ jsonrpc: '2.0', id: 0, method: 'server/discover' }, client);
  const res = await upstream.post(upstreamHeaders(identity, 'server/discover'), JSON.stringify(body));
  if (res.status >= 400) {
    res.body.resume();
    return undefined;
  }
  for await (const m of messagesOf(res.body, res.type)) {
    if (m.id !== 0 || !m.result) continue;
    const versions = (m.result as { supportedVersions?: unknown }).supportedVersions;
    if (!Array.isArray(versions) || versions.length === 0 || !versions.every(isStatelessRevision)) return undefined;
    return m.result as Record<string, unknown>;
  }
  return undefined;
}

export class RevisionDetector {
  /** Undefined: not known yet (or forgotten after a failure). */
  private found?: boolean;

  constructor(
    private readonly setting: ProtocolSetting,
    private readonly upstream: Upstream,
  ) {}

  /** Known to speak only 2026-07-28 (by config or by an earlier finding): no request needed. */
  get only2026(): boolean {
    return this.setting === '2026-07-28' || (this.setting === 'auto' && this.found === true);
  }

  /**
   * Whether a refused `initialize` should be looked into (auto mode, not known to be 2026-only):
   * a server found to speak 2025 earlier may have been replaced without ever failing.
   */
  get mayProbe(): boolean {
    return this.setting === 'auto' && this.found !== true;
  }

  /** The backend refused a 2025 `initialize`: ask it `server/discover` and remember the answer. */
  async probe(identity: Record<string, string>): Promise<boolean> {
    if (this.setting !== 'auto') return this.setting === '2026-07-28';
    try {
      this.found = (await discover(this.upstream, identity)) !== undefined;
    } catch {
      this.found = undefined;
      return false;
    }
    return this.found;
  }

  /** Reload: what the replaced backend found out. */
  adopt(old: RevisionDetector): void {
    this.found = old.found;
  }

  /** The backend failed: find out again at the next session start. */
  forget(): void {
    this.found = undefined;
  }
}
