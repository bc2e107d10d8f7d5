/** The schema of `virtualServers`: several backends served as one MCP server (DESIGN.md §12, "Virtual servers"). */
import { z } from 'zod';
import { name } from './zod-helpers.js';

export const VirtualServerSchema = z.strictObject({
  name,
  title: z.string().optional(),
  description: z.string().optional(),
  backends: z
    .array(
      z.strictObject({
        name,
        /** Tool and prompt names become `<prefix>_<name>`. */
        prefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'a prefix uses letters, digits and "-" (max 32)'),
      }),
    )
    .min(1, 'a virtual server needs at least one backend'),
});

export type VirtualServerConfig = z.output<typeof VirtualServerSchema>;

type Issue = (path: PropertyKey[], message: string) => void;

/**
 * Every problem at once: names unique across backends and virtual servers, members known, prefixes
 * unique. Runs even when other parts of the config are invalid, so it reads the values defensively.
 */
export function virtualServerProblems(c: { backends?: unknown; virtualServers?: unknown }, issue: Issue): void {
  const list = (v: unknown): Array<Record<string, unknown>> =>
    Array.isArray(v) ? v.filter((x) => typeof x === 'object' && x !== null) : [];
  const backendNames = new Set(list(c.backends).map((b) => b.name));
  const seen = new Set<unknown>();
  (Array.isArray(c.virtualServers) ? c.virtualServers : []).forEach((v: Record<string, unknown> | null, i) => {
    if (typeof v !== 'object' || v === null) return;
    if (backendNames.has(v.name))
      issue(['virtualServers', i, 'name'], `"${String(v.name)}" is already a backend name: names are unique`);
    else if (seen.has(v.name))
      issue(['virtualServers', i, 'name'], `duplicate virtual server name "${String(v.name)}"`);
    seen.add(v.name);
    const prefixes = new Set<unknown>();
    const members = new Set<unknown>();
    (Array.isArray(v.backends) ? v.backends : []).forEach((m: Record<string, unknown> | null, j) => {
      if (typeof m !== 'object' || m === null) return;
      const path = ['virtualServers', i, 'backends', j];
      if (!backendNames.has(m.name)) issue([...path, 'name'], `unknown backend "${String(m.name)}"`);
      if (members.has(m.name)) issue([...path, 'name'], `backend "${String(m.name)}" is listed twice`);
      if (prefixes.has(m.prefix))
        issue([...path, 'prefix'], `duplicate prefix "${String(m.prefix)}" in "${String(v.name)}"`);
      members.add(m.name);
      prefixes.add(m.prefix);
    });
  });
}
