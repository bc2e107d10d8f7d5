/**
 * Tenants: named by a claim when the IdP sends one, else derived from the email
 * domain through `tenants.domains`, else `tenants.default`. Part of the principal, so it
 * reaches headers, the assertion, `_meta`, policy rules and audit lines.
 */
import type { Config } from '../config/load.js';
import type { Principal } from './principal.js';

export type TenantConfig = NonNullable<Config['tenants']>;

export function tenantFor(
  cfg: TenantConfig | undefined,
  email: string | undefined,
  claims?: Readonly<Record<string, unknown>>,
): string | undefined {
  if (!cfg) return undefined;
  const claimed = cfg.claim ? claims?.[cfg.claim] : undefined;
  if (typeof claimed === 'string' && claimed) return claimed;
  const domain = email?.split('@')[1]?.toLowerCase();
  return (domain && cfg.domains[domain]) || cfg.default;
}

/**
 * What a session keeps to compute its tenant again under a reloaded config: the claim `tenants.claim` names, if any.
 */
export function tenantClaims(
  cfg: TenantConfig | undefined,
  claims: Record<string, unknown>,
): Record<string, string> | undefined {
  const value = cfg?.claim ? claims[cfg.claim] : undefined;
  return typeof value === 'string' && value ? { [cfg!.claim!]: value } : undefined;
}

/** A principal with its tenant filled in when the credential did not name one. */
export function withTenant(cfg: TenantConfig | undefined, p: Principal): Principal {
  if (!cfg || p.tenant) return p;
  const tenant = tenantFor(cfg, p.email);
  return tenant ? { ...p, tenant } : p;
}
