/**
 * The policy engine: pure functions from principal + backend config + MCP call to a decision
 * with its reason and the rule that made it. No I/O, no Fastify.
 *
 * An `allow` block admits a principal matching ANY of its non-empty lists (groups, emails,
 * email domains, scopes, API key names, tenants, subjects, OAuth clients); an empty block admits every
 * authenticated principal. `tools` / `resources` / `prompts` rules are ordered globs: the first
 * match wins (`deny: true` refuses, `allow` must match, neither allows); nothing matching is a
 * refusal (default deny once a backend has rules).
 */
import type { AllowRule, BackendConfig } from '../config/schema.js';
import { principalKey, type Principal } from '../identity/principal.js';

export interface Decision {
  allow: boolean;
  reason: string;
  rule?: string;
  /** Scopes the matched rule requires of a bearer token (MCP step-up). */
  scopes?: string[];
}

export type CallKind = 'tools' | 'resources' | 'prompts';

const globCache = new Map<string, RegExp>();
export function globMatch(glob: string, value: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(
      `^${glob
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    );
    globCache.set(glob, re);
  }
  return re.test(value);
}

/** Which list of an allow block admits the principal, if any. */
export function admittedBy(p: Principal, allow: AllowRule): string | undefined {
  const email = p.email?.toLowerCase();
  const lists: Array<[string, boolean]> = [
    ['groups', allow.groups.some((g) => p.groups.includes(g))],
    ['emails', !!email && allow.emails.some((e) => e.toLowerCase() === email)],
    ['domains', !!email && allow.domains.some((d) => email.endsWith(`@${d.toLowerCase()}`))],
    ['scopes', allow.scopes.some((s) => p.scopes.includes(s))],
    ['apiKeys', !!p.apiKey && allow.apiKeys.includes(p.apiKey)],
    ['tenants', !!p.tenant && allow.tenants.includes(p.tenant)],
    ['subjects', allow.subjects.includes(principalKey(p))],
    ['clients', p.source === 'bearer' && !!p.clientId && allow.clients.includes(p.clientId)],
  ];
  const empty = Object.values(allow).every((v) => Array.isArray(v) && v.length === 0);
  if (empty) return 'any authenticated principal';
  return lists.find(([, ok]) => ok)?.[0];
}

export function backendDecision(p: Principal, b: BackendConfig): Decision {
  if (!b.allow) return { allow: true, reason: 'backend has no allow list: any authenticated principal' };
  const by = admittedBy(p, b.allow);
  return by
    ? { allow: true, reason: `backend allow list (${by})`, rule: 'allow' }
    : { allow: false, reason: 'not in the backend allow list', rule: 'allow' };
}

export function callDecision(p: Principal, b: BackendConfig, kind: CallKind, name: string): Decision {
  const rules = b[kind];
  if (!rules) return { allow: true, reason: `no ${kind} rules` };
  for (const [i, r] of rules.entries()) {
    if (!globMatch(r.match, name)) continue;
    const rule = `${kind}[${i}] ${r.match}`;
    const scopes = r.scopes.length ? r.scopes : undefined;
    if (r.deny) return { allow: false, reason: 'denied by rule', rule };
    if (!r.allow) return { allow: true, reason: 'allowed by rule', rule, scopes };
    const by = admittedBy(p, r.allow);
    return by
      ? { allow: true, reason: `allowed by rule (${by})`, rule, scopes }
      : { allow: false, reason: 'rule requires another group, email, scope or tenant', rule };
  }
  return { allow: false, reason: `no ${kind} rule matches (default deny)` };
}

/** The MCP methods that name a tool, resource or prompt, and where the name is. */
export const NAMED_CALLS: Record<string, { kind: CallKind; param: 'name' | 'uri' }> = {
  'tools/call': { kind: 'tools', param: 'name' },
  'resources/read': { kind: 'resources', param: 'uri' },
  'resources/subscribe': { kind: 'resources', param: 'uri' },
  'prompts/get': { kind: 'prompts', param: 'name' },
};

/** List methods whose results are filtered by the same decisions. */
export const LIST_METHODS: Record<
  string,
  {
    kind: CallKind;
    field: 'tools' | 'resources' | 'prompts' | 'resourceTemplates';
    key: 'name' | 'uri' | 'uriTemplate';
  }
> = {
  'tools/list': { kind: 'tools', field: 'tools', key: 'name' },
  'resources/list': { kind: 'resources', field: 'resources', key: 'uri' },
  'resources/templates/list': { kind: 'resources', field: 'resourceTemplates', key: 'uriTemplate' },
  'prompts/list': { kind: 'prompts', field: 'prompts', key: 'name' },
};

/** A list result with the items the principal may not use removed. */
export function filterListResult(p: Principal, b: BackendConfig, method: string, result: unknown): unknown {
  const spec = LIST_METHODS[method];
  if (!spec || !b[spec.kind] || !result || typeof result !== 'object') return result;
  const r = result as Record<string, unknown>;
  const items = r[spec.field];
  if (!Array.isArray(items)) return result;
  return {
    ...r,
    [spec.field]: items.filter(
      (it) => callDecision(p, b, spec.kind, String((it as Record<string, unknown>)?.[spec.key] ?? '')).allow,
    ),
  };
}

/** Every scope a backend's rules may require: offered by the authorization server for its resource. */
export function ruleScopes(b: BackendConfig): string[] {
  return [...new Set([b.tools, b.resources, b.prompts].flatMap((rules) => (rules ?? []).flatMap((r) => r.scopes)))];
}

/**
 * A bearer credential lacking a scope the decision requires (browser sessions carry no scopes and are not stepped up).
 */
export function missingScopes(p: Principal, d: Decision): string[] {
  if (!d.allow || !d.scopes || p.source === 'session') return [];
  return d.scopes.filter((s) => !p.scopes.includes(s));
}
