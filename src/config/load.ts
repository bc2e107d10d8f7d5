/**
 * Config loading: file (YAML or JSON) → environment overrides → `${VAR}` interpolation →
 * command-line overrides → validation (validate.ts: every problem collected) → derived values → frozen.
 * What only the IdP presets can judge comes in as `OidcPresets` from the caller
 * (src/app/config.ts): config/ imports nothing outside itself but lib/.
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { OidcSection, ParsedConfig, ProviderName } from './schema.js';
import { validate } from './validate.js';
import { applyEnvOverrides, interpolate, type Env } from './env.js';

export type Config = ParsedConfig & {
  server: ParsedConfig['server'] & { publicUrl: string };
  oidc?: NonNullable<ParsedConfig['oidc']> & { redirectUri: string; provider: ProviderName; scopes: string[] };
};

export interface LoadResult {
  config?: Config;
  problems: string[];
  file?: string;
}

/** The IdP presets' part of loading: their checks of the `oidc` section, and what they resolve. */
export interface OidcPresets {
  /** Errors in a valid `oidc` section (none when it is too broken to judge); reported with the schema's problems. */
  errors(oidc: OidcSection): string[];
  /** The preset chosen (`oidc.provider`, else inferred) and its default scopes when `oidc.scopes` is unset. */
  resolve(oidc: OidcSection): { provider: ProviderName; scopes: string[] };
}

export interface LoadOptions {
  file?: string;
  /** A document to start from instead of (or merged over) the file: the CLI's zero-config form uses it. */
  doc?: Record<string, unknown>;
  env?: Env;
  cwd?: string;
  /** Applied after the environment: `--port`, `--host`, `--public-url`. */
  overrides?: { port?: number; host?: string; publicUrl?: string };
}

/** `--config`, else MCP_PROXY_CONFIG, else config/proxy.yaml when it exists. */
export function resolveConfigFile(explicit: string | undefined, env: Env, cwd: string): string | undefined {
  const chosen = explicit ?? env.MCP_PROXY_CONFIG;
  if (chosen) return resolve(cwd, chosen);
  const fallback = resolve(cwd, 'config/proxy.yaml');
  return existsSync(fallback) ? fallback : undefined;
}

export function parseDocument(text: string, file: string): Record<string, unknown> {
  const doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('the top level must be a mapping');
  return doc as Record<string, unknown>;
}

export function readConfig(opts: LoadOptions, presets: OidcPresets): LoadResult {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  let doc: Record<string, unknown> = {};
  if (opts.file) {
    try {
      doc = parseDocument(readFileSync(opts.file, 'utf8'), opts.file);
    } catch (e) {
      return { problems: [`${opts.file}: ${(e as Error).message}`], file: opts.file };
    }
  }
  if (opts.doc) doc = { ...doc, ...opts.doc };
  // Overrides first: a key the environment replaces needs none of the file's ${VARS}.
  applyEnvOverrides(doc, env, problems);
  const unset = new Set<string>();
  doc = interpolate(doc, env, problems, '', unset) as Record<string, unknown>;
  const flags = Object.entries(opts.overrides ?? {}).filter(([, v]) => v !== undefined);
  if (flags.length) doc.server = { ...((doc.server as object) ?? {}), ...Object.fromEntries(flags) };
  const { data, problems: invalid } = validate(doc, (oidc) => presets.errors(oidc), unset);
  problems.push(...invalid);
  if (problems.length || !data) return { problems, file: opts.file };
  return { config: deepFreeze(derive(data, presets)), problems, file: opts.file };
}

const stripSlash = (u: string) => u.replace(/\/+$/, '');

/**
 * Values that follow from others: publicUrl, the redirect URI, the
 * embedded dev IdP as issuer, the IdP preset and its default scopes.
 */
function derive(c: ParsedConfig, presets: OidcPresets): Config {
  const redirect = c.oidc?.redirectUri;
  let publicUrl = c.server.publicUrl ?? (redirect ? new URL(redirect).origin : undefined);
  if (!publicUrl) {
    const host = ['0.0.0.0', '::', ''].includes(c.server.host) ? '127.0.0.1' : c.server.host;
    publicUrl = `${c.server.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${c.server.port}`;
  }
  publicUrl = stripSlash(publicUrl);
  const out = { ...c, server: { ...c.server, publicUrl } } as Config;
  const oidc = c.oidc ?? (c.devIdp?.enabled ? devIdpClient(publicUrl) : undefined);
  if (oidc) out.oidc = { ...oidc, ...presets.resolve(oidc), redirectUri: redirect ?? `${publicUrl}/oauth/callback` };
  return out;
}

/** With the embedded dev IdP on and no `oidc` section, the proxy logs in at its own dev IdP. */
export const DEV_IDP_PATH = '/_dev/idp';
function devIdpClient(publicUrl: string): OidcSection {
  return {
    issuer: `${publicUrl}${DEV_IDP_PATH}`,
    clientId: 'mcp-oidc-proxy-dev',
    clientSecret: randomBytes(24).toString('base64url'),
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    groupsClaim: 'groups',
    allowInsecure: true,
    extraAuthParams: {},
    allowedDomains: [],
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
