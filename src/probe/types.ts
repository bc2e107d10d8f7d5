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
