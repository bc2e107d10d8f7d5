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

/** Every problem at once: names unique across backends and virtual servers, members known, prefixes unique. */
export function virtualServerProblems(
  backends: ReadonlyArray<{ name: string }>,
  virtuals: readonly VirtualServerConfig[],
  issue: Issue,
): void {
  const backendNames = new Set(backends.map((b) => b.name));
  const seen = new Set<string>();
  virtuals.forEach((v, i) => {
    if (backendNames.has(v.name))
      issue(['virtualServers', i, 'name'], `"${v.name}" is already a backend name: names are unique`);
    else if (seen.has(v.name)) issue(['virtualServers', i, 'name'], `duplicate virtual server name "${v.name}"`);
    seen.add(v.name);
    const prefixes = new Set<string>();
    const members = new Set<string>();
    v.backends.forEach((m, j) => {
      const path = ['virtualServers', i, 'backends', j];
      if (!backendNames.has(m.name)) issue([...path, 'name'], `unknown backend "${m.name}"`);
      if (members.has(m.name)) issue([...path, 'name'], `backend "${m.name}" is listed twice`);
      if (prefixes.has(m.prefix)) issue([...path, 'prefix'], `duplicate prefix "${m.prefix}" in "${v.name}"`);
      members.add(m.name);
      prefixes.add(m.prefix);
    });
  });
}
