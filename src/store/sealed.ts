/**
 * Encryption at rest for stores outside the process (Redis, PostgreSQL): keys are replaced
 * by an HMAC (an opaque token used as a key — a refresh token, a code — never reaches the
 * database as itself) and values are sealed with AES-256-GCM, bound to their key. The
 * secret comes from config (`session.keys`), so every replica reads what another wrote; the
 * first key seals, all keys open, so rotating keys loses nothing.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export interface RawStore {
  getRaw(key: string): Promise<string | undefined>;
  setRaw(key: string, value: string, ttlMs: number): Promise<void>;
  deleteRaw(key: string): Promise<void>;
  /** Set `key` only if absent (or expired); true when this call set it. */
  claimRaw(key: string, value: string, ttlMs: number): Promise<boolean>;
}

interface Keyring {
  mac: Buffer;
  enc: Buffer;
}

function derive(secret: Buffer, purpose: string): Keyring {
  const bytes = Buffer.from(hkdfSync('sha256', secret, 'mcp-oidc-proxy store', purpose, 64));
  return { mac: bytes.subarray(0, 32), enc: bytes.subarray(32) };
}

export class Sealer {
  private readonly rings: Keyring[];

  /** `secrets`: base64 key material, first one current (session.keys); `purpose` separates the keys of each use. */
  constructor(secrets: readonly string[], purpose = 'store keys v1') {
    if (!secrets.length) throw new Error('store encryption needs at least one key');
    this.rings = secrets.map((s) => derive(Buffer.from(s, 'base64'), purpose));
  }

  /** The stored names of a key, one per configured secret, current first (older ones still read after a rotation). */
  names(key: string): string[] {
    return this.rings.map((r) => createHmac('sha256', r.mac).update(key).digest('base64url'));
  }

  seal(key: string, value: unknown): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.rings[0]!.enc, iv);
    c.setAAD(Buffer.from(key));
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return `v1.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
  }

  /** The value, or undefined when no key opens it (tampered, or sealed under a key no longer configured). */
  open<T>(key: string, sealed: string): T | undefined {
    if (!sealed.startsWith('v1.')) return undefined;
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    for (const ring of this.rings) {
      try {
        const d = createDecipheriv('aes-256-gcm', ring.enc, raw.subarray(0, 12));
        d.setAAD(Buffer.from(key));
        d.setAuthTag(raw.subarray(12, 28));
        return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as T;
      } catch {
        /* next key */
      }
    }
    return undefined;
  }
}

/** A Store over a RawStore: sealed values under HMAC names. Redis and PostgreSQL extend it. */
export abstract class SealedStore implements RawStore {
  constructor(protected readonly sealer: Sealer) {}

  abstract getRaw(key: string): Promise<string | undefined>;
  abstract setRaw(key: string, value: string, ttlMs: number): Promise<void>;
  abstract deleteRaw(key: string): Promise<void>;
  abstract claimRaw(key: string, value: string, ttlMs: number): Promise<boolean>;
  abstract close(): Promise<void>;

  async get<T = unknown>(key: string): Promise<T | undefined> {
    for (const name of this.sealer.names(key)) {
      const raw = await this.getRaw(name);
      if (raw !== undefined) return this.sealer.open<T>(key, raw);
    }
    return undefined;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const [current, ...older] = this.sealer.names(key);
    await this.setRaw(current!, this.sealer.seal(key, value), Math.max(1, Math.ceil(ttlMs)));
    for (const name of older) await this.deleteRaw(name);
  }

  async delete(key: string): Promise<void> {
    for (const name of this.sealer.names(key)) await this.deleteRaw(name);
  }

  /** A marker under the current key's name (its value is never read, only its presence). */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    return this.claimRaw(this.sealer.names(key)[0]!, this.sealer.seal(key, true), Math.max(1, Math.ceil(ttlMs)));
  }

  /** Messages between replicas are sealed like values: whoever can write to the channel without the keys is ignored. */
  protected sealMessage(channel: string, message: unknown): string {
    return this.sealer.seal(`event:${channel}`, message);
  }

  protected openMessage(channel: string, raw: string): unknown {
    return this.sealer.open(`event:${channel}`, raw);
  }
}
