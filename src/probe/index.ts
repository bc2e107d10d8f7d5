/**
 * `check-config --probe`: every probe of a valid config at once, each with its own timeout, one
 * result per probe (src/probe/<kind>.ts make them). Nothing is changed anywhere: reads and pings only.
 */
import type { Config } from '../config/load.js';
import { backendProbes } from './backends.js';
import { describeError, ProbeFailure } from './cause.js';
import { idpProbes } from './idp.js';
import { storeProbes } from './store.js';
import { tokenProbes } from './tokens.js';
import type { Probe, ProbeNet, ProbeResult } from './types.js';
import { OutboundTls } from '../lib/outbound-tls.js';
import { upstreamProbes } from './upstream.js';

export type { Probe, ProbeResult } from './types.js';

export const PROBE_TIMEOUT_MS = 5000;

/** The probes of `config`, reaching out as the proxy does (`tls.ca`); an unreadable `tls.ca` is a failure itself. */
export function probesFor(config: Config): Probe[] {
  let tls: OutboundTls;
  const failed: Probe[] = [];
  try {
    tls = new OutboundTls(config.tls);
  } catch (e) {
    tls = new OutboundTls();
    const why = (e as Error).message;
    failed.push({ what: 'tls.ca', target: String(config.tls?.ca), run: () => Promise.reject(new ProbeFailure(why)) });
  }
  const net: ProbeNet = { tls, fetch: tls.fetch, dispatcher: tls.dispatcher };
  return [
    ...failed,
    ...idpProbes(config, net),
    ...tokenProbes(config, net),
    ...backendProbes(config, net),
    ...upstreamProbes(config, net),
    ...storeProbes(config),
  ];
}

/** Runs `probes` in parallel; a probe still running after `timeoutMs` fails with a timeout. */
export async function runProbes(probes: Probe[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult[]> {
  return Promise.all(
    probes.map(async (p): Promise<ProbeResult> => {
      const signal = AbortSignal.timeout(timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DOMException('timeout', 'TimeoutError')), timeoutMs);
      });
      try {
        const detail = await Promise.race([p.run(signal), timedOut]);
        return { what: p.what, target: p.target, ok: true, detail };
      } catch (e) {
        return { what: p.what, target: p.target, ok: false, detail: describeError(e, timeoutMs) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/** `ok   backend tickets http://…/mcp (HTTP 405)` / `FAIL backend legacy command "x" (not found on PATH)`. */
export function formatResult(r: ProbeResult): string {
  return `${r.ok ? 'ok  ' : 'FAIL'} ${r.what} ${r.target} (${r.detail})`;
}
