/**
 * What a virtual server shows of its members: prefixed names (`<prefix>_<name>`), merged list pages
 * (a cursor names the member and its own cursor), merged capabilities, and which member a name or
 * resource URI belongs to (DESIGN.md §12, "Virtual servers").
 */
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { MemberLink } from './member.js';

/** `<prefix>_<name>` → the member and the name it knows; -32602 (and no member reached) otherwise. */
export function route(members: readonly MemberLink[], prefixed: unknown, what: string): [MemberLink, string] {
  const name = typeof prefixed === 'string' ? prefixed : '';
  const cut = name.indexOf('_');
  const member = cut > 0 ? members.find((m) => m.prefix === name.slice(0, cut)) : undefined;
  if (!member || cut === name.length - 1)
    throw new McpError(ErrorCode.InvalidParams, `unknown ${what} "${name}": names are <prefix>_<name>`);
  return [member, name.slice(cut + 1)];
}

/** A merged cursor: each member (by its index) with its own next cursor. */
type Cursor = Record<string, string>;

export const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

export function decodeCursor(cursor: unknown, members: number): Cursor {
  if (cursor === undefined) return {};
  try {
    const c = JSON.parse(Buffer.from(String(cursor), 'base64url').toString()) as unknown;
    const ok = (k: string, v: unknown) => /^\d+$/.test(k) && Number(k) < members && typeof v === 'string';
    if (c && typeof c === 'object' && !Array.isArray(c) && Object.entries(c).every(([k, v]) => ok(k, v)))
      return c as Cursor;
  } catch {
    /* refused below */
  }
  throw new McpError(ErrorCode.InvalidParams, 'invalid cursor');
}

/** A capability is offered when a member offers it; its flags are on when one member's are. */
export function mergeCapabilities(members: readonly MemberLink[]): ServerCapabilities {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of members) {
    const caps = m.capabilities as Record<string, unknown>;
    for (const key of ['tools', 'prompts', 'resources', 'logging', 'completions']) {
      const cap = caps[key];
      if (!cap || typeof cap !== 'object') continue;
      const into = (out[key] ??= {});
      for (const [flag, on] of Object.entries(cap)) if (on === true) into[flag] = true;
    }
  }
  return out as ServerCapabilities;
}

/** Which member listed which resource URI and template, per client session (reads and subscriptions route by it). */
export class ResourceOwners {
  private readonly uris = new Map<string, MemberLink>();
  private readonly templates: Array<{ member: MemberLink; template: string }> = [];

  noteUri(uri: string, m: MemberLink): void {
    if (!this.uris.has(uri)) this.uris.set(uri, m); // the first in `backends` order wins a tie
  }

  noteTemplate(template: string, m: MemberLink): void {
    if (!this.templates.some((t) => t.member === m && t.template === template))
      this.templates.push({ member: m, template });
  }

  /** The member that listed `uri`, else the first (in `order`) whose template matches it. */
  owner(uri: string, order: readonly MemberLink[]): MemberLink | undefined {
    const listed = this.uris.get(uri);
    if (listed) return listed;
    for (const m of order) for (const t of this.templates) if (t.member === m && matches(t.template, uri)) return m;
    return undefined;
  }

  /** The member that listed this template (completion `ref/resource`). */
  templateOwner(template: string, order: readonly MemberLink[]): MemberLink | undefined {
    return order.find((m) => this.templates.some((t) => t.member === m && t.template === template));
  }
}

function matches(template: string, uri: string): boolean {
  try {
    return new UriTemplate(template).match(uri) !== null;
  } catch {
    return false;
  }
}
