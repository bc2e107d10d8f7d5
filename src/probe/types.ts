import type { Dispatcher } from 'undici';
import type { OutboundTls } from '../lib/outbound-tls.js';

/** How the probes reach out: as the proxy does, trusting `tls.ca` (src/lib/outbound-tls.ts). */
export interface ProbeNet {
  tls: OutboundTls;
  fetch: typeof fetch;
  /** For undici requests (undefined: the global dispatcher). */
  dispatcher?: Dispatcher;
}

/** One probe of `check-config --probe`: what it tries, where, and how (it throws the failure). */
export interface Probe {
  /** What is tried: `idp`, `backend tickets`, `store`, … */
  what: string;
  /** Where: a URL (password masked) or a command. */
  target: string;
  /** The detail of a success (`HTTP 405`, `3 keys`); throws the failure. */
  run(signal: AbortSignal): Promise<string>;
}

export interface ProbeResult {
  what: string;
  target: string;
  ok: boolean;
  detail: string;
}
