/**
 * Loading a config as the proxy runs it: src/config/ (file, environment, schema) together with
 * the IdP presets' checks and defaults (src/oidc/providers/), every problem reported together.
 * The CLI and the tests load configs through here.
 */
import { readConfig, type Config, type LoadOptions, type LoadResult } from '../config/load.js';
import { oidcPresets, oidcProblems } from '../oidc/providers/index.js';
import { lintPolicy } from '../policy/lint.js';

export { resolveConfigFile, type Config, type LoadOptions, type LoadResult } from '../config/load.js';

export function loadConfig(opts: LoadOptions = {}): LoadResult {
  return readConfig(opts, oidcPresets);
}

/**
 * Warnings about a valid config: policy that cannot do what its author meant,
 * and the IdP preset's (e.g. Okta's org server without the groups scope).
 */
export function configWarnings(config: Config): string[] {
  return [...lintPolicy(config), ...(config.oidc ? oidcProblems(config.oidc).warnings : [])];
}
