/**
 * Everything the environment contributes to a config: `${VAR}` / `${VAR:-default}`
 * interpolation (VAR_FILE read when VAR is unset), `MCP_PROXY_<UPPER_SNAKE_PATH>`
 * overrides (with `_FILE` variants), and the Okta sample apps' variable names (OKTA_ORG_URL …).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYamlScalar } from 'yaml';
import { suggestKey } from './messages.js';
import { ConfigSchema } from './schema.js';

export type Env = Record<string, string | undefined>;

/** Value of VAR, else the trimmed contents of the file named by VAR_FILE. */
export function envValue(env: Env, name: string): string | undefined {
  if (env[name] !== undefined) return env[name];
  const file = env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  return undefined;
}

/**
 * Replace `${VAR}` and `${VAR:-default}` in every string of a parsed document; the key paths
 * holding an unset variable are added to `unset` (their other problems follow from it).
 */
export function interpolate(
  value: unknown,
  env: Env,
  problems: string[],
  path = '',
  unset = new Set<string>(),
): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{[^}]+\}$/.test(value);
    const out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => {
      let v: string | undefined;
      try {
        v = envValue(env, name);
      } catch (e) {
        problems.push(`${path || '(root)'}: cannot read ${name}_FILE: ${(e as Error).message}`);
        unset.add(path);
        return '';
      }
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      problems.push(`${path || '(root)'}: environment variable ${name} is not set`);
      unset.add(path);
      return '';
    });
    // `port: ${PORT:-8080}` is a number, `enabled: ${X:-true}` a boolean.
    return whole && /^(-?\d+(\.\d+)?|true|false)$/.test(out) ? parseYamlScalar(out) : out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${path}[${i}]`, unset));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, problems, path ? `${path}.${k}` : k, unset)]),
    );
  }
  return value;
}

const upperSnake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

interface ZodLike {
  _zod: { def: { type: string; shape?: Record<string, ZodLike>; innerType?: ZodLike; in?: ZodLike } };
}

/** Map of `OIDC_CLIENT_ID` → ['oidc','clientId'] for every scalar-or-list leaf of the schema's objects. */
interface Leaf {
  path: string[];
  list: boolean;
}

function leafPaths(schema: ZodLike, prefix: string[] = [], out = new Map<string, Leaf>()): Map<string, Leaf> {
  let s = schema;
  while (s._zod.def.innerType || s._zod.def.in) s = (s._zod.def.innerType ?? s._zod.def.in)!;
  if (s._zod.def.type === 'object' && s._zod.def.shape) {
    for (const [k, v] of Object.entries(s._zod.def.shape)) leafPaths(v, [...prefix, k], out);
  } else if (prefix.length) {
    out.set(prefix.map(upperSnake).join('_'), { path: prefix, list: s._zod.def.type === 'array' });
  }
  return out;
}

const LEAVES = leafPaths(ConfigSchema as unknown as ZodLike);

function setPath(doc: Record<string, unknown>, path: string[], value: unknown): void {
  let node = doc;
  for (const k of path.slice(0, -1)) {
    if (!node[k] || typeof node[k] !== 'object') node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

/** Apply `MCP_PROXY_*` overrides, the Okta sample apps' variables and DATABASE_URL onto a parsed document. */
export function applyEnvOverrides(doc: Record<string, unknown>, env: Env, problems: string[]): string[] {
  const applied: string[] = [];
  const seed: Array<[string, string[]]> = [
    ['OKTA_ORG_URL', ['oidc', 'issuer']],
    ['OKTA_CLIENT_ID', ['oidc', 'clientId']],
    ['OKTA_CLIENT_SECRET', ['oidc', 'clientSecret']],
    ['OAUTH_REDIRECT_URI', ['oidc', 'redirectUri']],
  ];
  for (const [name, path] of seed) {
    const v = envValue(env, name);
    if (v) {
      setPath(doc, path, v);
      applied.push(name);
    }
  }
  // Seed 003: DATABASE_URL names the PostgreSQL store unless the config chose another store.
  const databaseUrl = envValue(env, 'DATABASE_URL');
  const store = (doc.store ?? {}) as Record<string, unknown>;
  if (databaseUrl && store.url === undefined && (store.kind === undefined || store.kind === 'postgres')) {
    setPath(doc, ['store', 'kind'], 'postgres');
    setPath(doc, ['store', 'url'], databaseUrl);
    applied.push('DATABASE_URL');
  }
  for (const key of Object.keys(env)) {
    if (!key.startsWith('MCP_PROXY_') || key === 'MCP_PROXY_CONFIG') continue;
    let bare = key.slice('MCP_PROXY_'.length);
    const fromFile = bare.endsWith('_FILE') && !LEAVES.has(bare);
    if (fromFile) bare = bare.slice(0, -'_FILE'.length);
    const leaf = LEAVES.get(bare);
    if (!leaf) {
      const hint = suggestKey(bare, [...LEAVES.keys()]);
      problems.push(
        `${key}: no config key matches this environment variable${hint ? `; did you mean \`MCP_PROXY_${hint}\`?` : ''}`,
      );
      continue;
    }
    let raw: string;
    try {
      raw = fromFile ? readFileSync(env[key]!, 'utf8').replace(/\r?\n$/, '') : env[key]!;
    } catch (e) {
      problems.push(`${key}: cannot read file: ${(e as Error).message}`);
      continue;
    }
    setPath(doc, leaf.path, coerce(raw, leaf.list));
    applied.push(key);
  }
  return applied;
}

/** Env values are strings; numbers, booleans and JSON/YAML lists are read as YAML; list keys also take `a,b,c`. */
function coerce(raw: string, list: boolean): unknown {
  if (list && !raw.trim().startsWith('['))
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (/^(true|false|-?\d+(\.\d+)?|\[.*\]|\{.*\})$/s.test(raw.trim())) {
    try {
      return parseYamlScalar(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}
