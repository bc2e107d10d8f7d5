/**
 * When each configured credential (an API key, a client certificate) last proved a request: kept
 * in the store (shared by replicas) for the admin console, written at most once a minute per
 * credential and replica, never on the request's path (a failed write is only a stale date).
 */
import type { Store } from '../store/store.js';
import { BoundedMap } from '../store/memory.js';
import type { Principal } from './principal.js';

/** The kinds of configured credential tracked. */
export type CredentialKind = 'apikey' | 'certificate';

const WRITE_EVERY_MS = 60_000;
const KEEP_MS = 400 * 24 * 3600_000;
const key = (kind: CredentialKind, name: string) => `last-used:${kind}:${name}`;

export class LastUsed {
  private readonly written = new BoundedMap<string, number>(10_000);

  constructor(private readonly store: Store) {}

  /** Notes that the credential of `kind` named `name` was used now. */
  touch(kind: CredentialKind, name: string, now = Date.now()): void {
    const k = key(kind, name);
    const at = this.written.get(k);
    if (at !== undefined && now - at < WRITE_EVERY_MS) return;
    this.written.set(k, now);
    this.store.set(k, now, KEEP_MS).catch(() => this.written.delete(k));
  }

  /** The principal's configured credential, when it came with one. */
  touchPrincipal(p: Principal | null): void {
    if (p?.source === 'apikey' && p.apiKey) this.touch('apikey', p.apiKey);
    else if (p?.source === 'clientCertificate' && p.certificate) this.touch('certificate', p.certificate);
  }

  /** ms since epoch, or undefined when never seen (or not since its record expired). */
  get(kind: CredentialKind, name: string): Promise<number | undefined> {
    return this.store.get<number>(key(kind, name));
  }
}
