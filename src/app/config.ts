/**
 * Loading a config as the proxy runs it: src/config/ (file, environment, schema) together with
 * the IdP presets' checks and defaults (src/oidc/providers/), every problem reported together.
 * The CLI and the tests load configs through here.
 */
import { readConfig, type LoadOptions, type LoadResult } from '../config/load.js';
import { oidcPresets } from '../oidc/providers/index.js';

export { resolveConfigFile, type Config, type LoadOptions, type LoadResult } from '../config/load.js';

export function loadConfig(opts: LoadOptions = {}): LoadResult {
  return readConfig(opts, oidcPresets);
}
