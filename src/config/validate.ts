/**
 * Validation of a config document, every problem in one run: the schema's problems, and the
 * cross-section and IdP-preset checks on whichever sections are valid, one line each in words.
 */
import { BackendSchema } from './backend-schema.js';
import { crossFieldProblems, NO_WAY_IN, waysIn, type ValidParts } from './cross-checks.js';
import { formatPath, humanMessage, issueLines } from './messages.js';
import { ConfigSchema, OidcSchema, type OidcSection, type ParsedConfig } from './schema.js';

export interface Validated {
  data?: ParsedConfig;
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const opts = { error: humanMessage };

/**
 * `unset`: key paths whose `${VAR}` was unset (already reported with the variable's name);
 * problems at or under them are consequences and left out.
 */
export function validate(
  doc: Record<string, unknown>,
  presetErrors: (oidc: OidcSection) => string[],
  unset: ReadonlySet<string> = new Set(),
): Validated {
  const lines: Array<{ path: string; line: string }> = [];
  const parsed = ConfigSchema.safeParse(doc, opts);
  let oidc = parsed.data?.oidc;
  if (!parsed.success) {
    for (const issue of parsed.error.issues) lines.push(...issueLines(issue, ConfigSchema));
    const { parts, broken } = validParts(doc);
    oidc = parts.oidc as OidcSection | undefined;
    const schemaPaths = new Set(lines.map((l) => l.path));
    crossFieldProblems(
      parts,
      (path, message) => {
        const at = formatPath(path);
        if (!schemaPaths.has(at)) lines.push({ path: at, line: `${at}: ${message}` });
      },
      broken,
    );
  }
  if (oidc)
    for (const message of presetErrors(oidc)) lines.push({ path: 'oidc.issuer', line: `oidc.issuer: ${message}` });
  if (!waysIn(doc).length) lines.push({ path: '(root)', line: NO_WAY_IN });
  const under = (path: string, parent: string) =>
    path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);
  const problems = [...new Set(lines.filter((l) => ![...unset].some((u) => under(l.path, u))).map((l) => l.line))];
  return { data: parsed.success && !problems.length ? parsed.data : undefined, problems };
}

/** Each top-level section parsed on its own (each backend too): the valid ones, and the names of the broken. */
function validParts(doc: Record<string, unknown>): { parts: ValidParts; broken: Set<string> } {
  const parts: Record<string, unknown> = {};
  const broken = new Set<string>();
  for (const [key, schema] of Object.entries(ConfigSchema.shape)) {
    if (key === 'backends') {
      if (Array.isArray(doc.backends)) parts.backends = doc.backends.map((b) => BackendSchema.safeParse(b, opts).data);
      else broken.add(key);
      continue;
    }
    const r = key === 'oidc' ? salvageOidc(doc.oidc) : schema.safeParse(doc[key], opts);
    if (r.success) parts[key] = r.data;
    else broken.add(key);
  }
  return { parts: parts as ValidParts, broken };
}

/**
 * The `oidc` section without its invalid or unknown keys (a placeholder clientId when that one is
 * wrong), so the presets can still judge the issuer; a failure when the issuer itself is wrong.
 */
function salvageOidc(raw: unknown): { success: boolean; data?: OidcSection } {
  const first = OidcSchema.safeParse(raw, opts);
  if (first.success || !isObject(raw)) return first;
  const bad = new Set<PropertyKey>();
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys' && !issue.path.length) for (const k of issue.keys) bad.add(k);
    else if (issue.path.length) bad.add(issue.path[0]!);
  }
  if (bad.has('issuer')) return { success: false };
  const kept = Object.fromEntries(Object.entries(raw).filter(([k]) => !bad.has(k)));
  return OidcSchema.safeParse({ clientId: '(invalid)', ...kept }, opts);
}
