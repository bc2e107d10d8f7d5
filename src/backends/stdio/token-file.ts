/**
 * The upstream token of one stdio child (`upstream.env: NAME`): NAME=<token> and NAME_FILE=<path>
 * in its environment at spawn; the file (0600, in a private 0700 directory) rewritten atomically
 * (a temp file in the same directory, then rename) when a request obtains a different token and
 * before the token expires. A failed renewal is logged and retried, the old file kept meanwhile.
 * The directory goes when the child ends. The token itself is never logged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { EXPIRY_MARGIN_MS } from '../../upstream/cache.js';

export interface ChildToken {
  token: string;
  /** ms since epoch; undefined when unknown (then the file changes only when a request brings a new token). */
  expiresAt?: number;
}

const MIN_DELAY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/** When to renew a token that expires in `remainingMs`: just inside the cache's margin, or halfway when shorter. */
export function renewalDelay(remainingMs: number): number {
  const inMargin = remainingMs - EXPIRY_MARGIN_MS + MIN_DELAY_MS;
  return Math.max(MIN_DELAY_MS, remainingMs > 2 * EXPIRY_MARGIN_MS ? inMargin : remainingMs / 2);
}

/** When to try again after a failed renewal: sooner while the held token is still valid. */
export function retryDelay(remainingMs: number | undefined): number {
  if (remainingMs === undefined || remainingMs <= 0) return MAX_RETRY_MS;
  return Math.min(MAX_RETRY_MS, Math.max(MIN_DELAY_MS, remainingMs / 2));
}

export interface TokenFileOptions<P> {
  /** The variable name (`upstream.env`); the file's path goes in `<env>_FILE`. */
  env: string;
  /** Obtains the token again for `who`: the cached one while it is fresh, else a new one. */
  renew: (who: P) => Promise<ChildToken>;
  log: FastifyBaseLogger;
}

export class TokenFile<P> {
  readonly dir: string;
  readonly file: string;
  private held: ChildToken;
  private timer?: NodeJS.Timeout;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  /** Writes the first token (throws when it cannot: the child is not started). */
  constructor(
    first: ChildToken,
    private who: P,
    private readonly opts: TokenFileOptions<P>,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'mcp-proxy-upstream-')); // mode 0700
    this.file = join(this.dir, 'token');
    try {
      const tmp = this.tempName();
      writeFileSync(tmp, first.token, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, this.file);
    } catch (e) {
      rmSync(this.dir, { recursive: true, force: true });
      throw e;
    }
    this.held = first;
    this.schedule(first.expiresAt);
  }

  /** What the child's environment gets: the token at spawn, and the file that stays fresh. */
  env(): Record<string, string> {
    return { [this.opts.env]: this.held.token, [`${this.opts.env}_FILE`]: this.file };
  }

  /** A request for `who` obtained `t`: written when it is another token (resolves once it is on disk, or failed). */
  offer(t: ChildToken, who: P): Promise<void> {
    this.who = who;
    return this.enqueue(t).catch((e) => this.failed('stdio.token_file_failed', e));
  }

  /** The child ended: no more renewals, the directory goes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (e) {
      this.failed('stdio.token_file_failed', e);
    }
  }

  /** One write at a time, in the order the tokens arrived. */
  private enqueue(t: ChildToken): Promise<void> {
    const next = this.queue.then(() => this.write(t));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(t: ChildToken): Promise<void> {
    if (this.closed || t.token === this.held.token) return;
    // A token obtained before the held one (a slow request) is not written back over it.
    if (t.expiresAt !== undefined && this.held.expiresAt !== undefined && t.expiresAt < this.held.expiresAt) return;
    const tmp = this.tempName();
    try {
      await writeFile(tmp, t.token, { mode: 0o600, flag: 'wx' });
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (this.closed) return;
      throw e;
    }
    this.held = t;
    this.schedule(t.expiresAt);
  }

  private async renew(): Promise<void> {
    try {
      await this.enqueue(await this.opts.renew(this.who));
      this.schedule(this.held.expiresAt);
    } catch (e) {
      this.failed('stdio.token_renew_failed', e);
      const remaining = this.held.expiresAt === undefined ? undefined : this.held.expiresAt - Date.now();
      this.after(retryDelay(remaining));
    }
  }

  private schedule(expiresAt: number | undefined): void {
    if (expiresAt === undefined) clearTimeout(this.timer);
    else this.after(renewalDelay(expiresAt - Date.now()));
  }

  private after(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renew(), ms);
    this.timer.unref();
  }

  private tempName(): string {
    return join(this.dir, `.token-${randomBytes(8).toString('hex')}`);
  }

  private failed(event: string, e: unknown): void {
    if (this.closed && event === 'stdio.token_renew_failed') return;
    const err = e as { code?: unknown; reason?: unknown; message?: string };
    const reason = String(err.reason ?? err.code ?? err.message);
    this.opts.log.warn(
      { event, env: this.opts.env, reason },
      event === 'stdio.token_renew_failed'
        ? 'could not renew the upstream token of a stdio server: it keeps the old one, retrying'
        : 'could not write the upstream token file of a stdio server',
    );
  }
}
