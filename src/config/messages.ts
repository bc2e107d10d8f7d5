/**
 * Config problems in words: zod's issues as one line each with the key path (`backends[0].http.url: required`),
 * and an unknown key with the known key it most likely meant (`backend: unknown key; did you mean `backends`?`).
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/** `backends[0].http.url`; `(root)` for the document itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (!path.length) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
const TYPE_WORDS: Record<string, string> = { object: 'mapping', record: 'mapping', array: 'list' };
const typeWord = (t: string) => article(TYPE_WORDS[t] ?? t);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

const list = (values: readonly unknown[]) => values.map((v) => String(v)).join(', ');

/** The types a union's members expected, when every member refused the value for its type. */
function unionTypes(errors: readonly (readonly Issue[])[]): string[] | undefined {
  const types = errors.map((e) => (e.length === 1 && e[0]!.code === 'invalid_type' ? e[0]!.expected : undefined));
  return types.every((t): t is NonNullable<typeof t> => t !== undefined) ? types : undefined;
}

/**
 * The per-parse error map: words for zod's default messages. A message a schema gives itself
 * (`.min(1, '…')`, refinements) takes precedence over this, as zod orders them.
 */
export function humanMessage(iss: RawIssue): string | undefined {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type':
      return input === undefined ? 'required' : `expected ${typeWord(iss.expected)}, got ${describe(input)}`;
    case 'invalid_value':
      return iss.values.length === 1
        ? `expected ${JSON.stringify(iss.values[0])}, got ${describe(input)}`
        : `expected one of ${list(iss.values)}, got ${describe(input)}`;
    case 'too_small':
      if (iss.origin === 'string')
        return iss.minimum === 1 ? 'must not be empty' : `at least ${iss.minimum} characters`;
      if (iss.origin === 'array' || iss.origin === 'set') return `needs at least ${iss.minimum} item(s)`;
      return `must be ${iss.inclusive ? 'at least' : 'more than'} ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'string') return `at most ${iss.maximum} characters`;
      if (iss.origin === 'array' || iss.origin === 'set') return `at most ${iss.maximum} item(s)`;
      return `must be ${iss.inclusive ? 'at most' : 'less than'} ${iss.maximum}`;
    case 'invalid_format':
      return iss.format === 'regex'
        ? 'has the wrong format'
        : `must be ${article(iss.format === 'url' ? 'URL' : iss.format)}`;
    case 'invalid_union': {
      if (iss.discriminator && 'options' in iss) return `expected one of ${list(iss.options as unknown[])}`;
      const types = unionTypes(iss.errors as unknown as Issue[][]);
      if (input === undefined) return 'required';
      return types
        ? `expected ${types.map(typeWord).join(' or ')}, got ${describe(input)}`
        : 'matches none of the allowed forms';
    }
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid value';
    default:
      return undefined;
  }
}

/** Damerau–Levenshtein distance (optimal string alignment), for short key names. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key an unknown one most likely meant: same letters ignoring case, `_` and `-`, else a near spelling. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const same = known.find((k) => norm(k) === norm(unknown));
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const distance = editDistance(norm(unknown), norm(k));
    if (distance < bestDistance) [best, bestDistance] = [k, distance];
  }
  const allowed = Math.max(1, Math.floor(Math.max(unknown.length, 3) / 3));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

interface ZodNode {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, ZodNode>;
      innerType?: ZodNode;
      in?: ZodNode;
      element?: ZodNode;
      options?: ZodNode[];
    };
  };
}

/** The keys an object schema knows at `path` (through optional, default, pipe, list and union wrappers). */
export function knownKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  const found = new Set<string>();
  const walk = (node: ZodNode | undefined, rest: readonly PropertyKey[]): void => {
    if (!node) return;
    const def = node._zod.def;
    if (def.innerType || def.in) walk(def.innerType ?? def.in, rest);
    else if (def.type === 'union') for (const o of def.options ?? []) walk(o, rest);
    else if (def.type === 'array') {
      if (typeof rest[0] === 'number') walk(def.element, rest.slice(1));
    } else if (def.type === 'object' && def.shape) {
      if (!rest.length) for (const k of Object.keys(def.shape)) found.add(k);
      else walk(def.shape[String(rest[0])], rest.slice(1));
    }
  };
  walk(schema as ZodNode, path);
  return [...found];
}

/** One line per problem (an unrecognized-keys issue is one line per key), each with its key path. */
export function issueLines(issue: Issue, schema: unknown): Array<{ path: string; line: string }> {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, issue.path);
    return issue.keys.map((key) => {
      const path = formatPath([...issue.path, key]);
      const hint = suggestKey(key, known);
      return { path, line: `${path}: unknown key${hint ? `; did you mean \`${hint}\`?` : ''}` };
    });
  }
  const path = formatPath(issue.path);
  return [{ path, line: `${path}: ${issue.message}` }];
}
