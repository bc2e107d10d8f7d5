/**
 * Warnings about policy that validates but cannot do what its author meant: rules that can
 * never match because an earlier rule catches everything they would, duplicate globs, and
 * allow blocks naming groups when no groups claim can supply them.
 */
import type { Config } from '../config/load.js';
import { globMatch } from './engine.js';

export function lintPolicy(config: Config): string[] {
  const out: string[] = [];
  for (const [bi, b] of config.backends.entries()) {
    for (const kind of ['tools', 'resources', 'prompts'] as const) {
      const rules = b[kind] ?? [];
      rules.forEach((r, i) => {
        const earlier = rules
          .slice(0, i)
          .findIndex(
            (e) =>
              e.match === r.match ||
              (e.match.includes('*') && !r.match.includes('*') && globMatch(e.match, r.match)) ||
              e.match === '*',
          );
        if (earlier !== -1)
          out.push(
            `backends[${bi}].${kind}[${i}] ("${r.match}") is unreachable: ${kind}[${earlier}] ` +
              `("${rules[earlier]!.match}") matches first`,
          );
      });
    }
    const usesGroups = [b.allow, ...(b.tools ?? []).map((r) => r.allow)].some((a) => a?.groups.length);
    const grouped = [...config.apiKeys, ...config.clientCertificates].some((k) => k.groups.length);
    if (usesGroups && !config.oidc && !grouped && !config.externalTokens) {
      out.push(
        `backends[${bi}] allows by groups, but nothing configured supplies groups (no oidc, external tokens, ` +
          'API key or client certificate groups)',
      );
    }
  }
  return out;
}
