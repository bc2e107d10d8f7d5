/**
 * Node 20 is supported (engines ≥ 20.19; the whole suite runs on it), but oidc-provider 9 prints
 * "oidc-provider WARNING: Unsupported runtime" when it is loaded on any Node older than the 22
 * LTS line (it compares `process.release.lts` with "Jod", and has no option to turn that off).
 * Imported before anything loads oidc-provider, this drops that one line, once, and nothing else.
 */
const WARNING = 'oidc-provider WARNING: Unsupported runtime.';
const lts = process.release?.lts;

if (lts && lts < 'Jod') {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    // attention.js wraps the line in colour codes when stderr is a terminal.
    if (typeof args[0] === 'string' && args[0].includes(WARNING)) {
      console.warn = warn;
      return;
    }
    warn(...args);
  };
}
