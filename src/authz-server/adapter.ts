/**
 * oidc-provider's persistence on the proxy's `Store` (memory, Redis or PostgreSQL).
 * Secondary indexes (uid, user code, grant) are plain keys. A store that cannot be reached
 * answers 503 `temporarily_unavailable` (fail closed, and say why), not a bare server_error.
 */
import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Store } from '../store/index.js';

/** A 503 `temporarily_unavailable`, in oidc-provider's terms. */
export function storeUnavailable(): never {
  const e = new errors.CustomOIDCProviderError(
    'temporarily_unavailable',
    'the proxy cannot reach its store; try again shortly',
  );
  throw Object.assign(e, { status: 503, statusCode: 503, expose: true });
}

/** The store, with its failures turned into the 503 above. */
function guarded(store: Store): Store {
  return {
    get: <T>(k: string) => store.get<T>(k).catch(storeUnavailable),
    set: (k, v, ttl) => store.set(k, v, ttl).catch(storeUnavailable),
    delete: (k) => store.delete(k).catch(storeUnavailable),
    claim: (k, ttl) => store.claim(k, ttl).catch(storeUnavailable),
    close: () => store.close(),
  };
}

const FOREVER_S = 30 * 24 * 3600;

export function storeAdapter(backing: Store, prefix = 'as') {
  const store = guarded(backing);
  return class StoreAdapter implements Adapter {
    constructor(private readonly model: string) {}

    private key(id: string): string {
      return `${prefix}:${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const ttl = (expiresIn || FOREVER_S) * 1000;
      await store.set(this.key(id), payload, ttl);
      // Only sessions are looked up by uid; interactions (anyone can start one) write no index.
      if (payload.uid && this.model === 'Session') await store.set(`${prefix}:uid:${payload.uid}`, id, ttl);
      if (payload.userCode) await store.set(`${prefix}:usercode:${payload.userCode}`, id, ttl);
      // Grants by user, so "log out everywhere" and back-channel logout can revoke them all.
      if (this.model === 'Grant' && typeof payload.accountId === 'string') {
        const ak = accountGrantsKey(prefix, payload.accountId);
        const ids = (await store.get<string[]>(ak)) ?? [];
        if (!ids.includes(id)) await store.set(ak, [...ids, id], Math.max(ttl, FOREVER_S * 1000));
      }
      // Registered clients, and grants by client: what the admin console lists and revokes (./registry.ts).
      if (this.model === 'Client') await remember(store, clientIndexKey(prefix), id, MAX_LISTED_CLIENTS);
      if (this.model === 'Grant' && typeof payload.clientId === 'string') {
        await remember(store, clientGrantsKey(prefix, payload.clientId), id, MAX_CLIENT_GRANTS);
        // A metadata-document client (its id a URL) has no Client record: listed by its grants.
        if (/^https?:\/\//.test(payload.clientId))
          await remember(store, clientIndexKey(prefix), payload.clientId, MAX_LISTED_CLIENTS);
      }
      if (payload.grantId) {
        const gk = `${prefix}:grant:${payload.grantId}`;
        const keys = (await store.get<string[]>(gk)) ?? [];
        keys.push(this.key(id));
        await store.set(gk, keys, Math.max(ttl, FOREVER_S * 1000));
      }
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return store.get<AdapterPayload>(this.key(id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await store.get<string>(`${prefix}:uid:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await store.get<string>(`${prefix}:usercode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    /**
     * oidc-provider reads a token, sees it unconsumed, then consumes it: two requests with the same
     * refresh token (or code) can both pass the read. The claim decides which one consumed it; the
     * other is reuse, answered as oidc-provider answers reuse it sees on read: the grant revoked
     * and invalid_grant.
     */
    async consume(id: string): Promise<void> {
      const payload = await this.find(id);
      // Gone since oidc-provider read it: a concurrent reuse revoked its grant.
      if (!payload) throw new errors.InvalidGrant(`${this.model} already used`);
      const ttl = payload.exp ? Math.max(1000, payload.exp * 1000 - Date.now()) : FOREVER_S * 1000;
      if (!(await store.claim(`${prefix}:consumed:${this.model}:${id}`, ttl))) {
        if (payload.grantId) await this.revokeGrant(payload.grantId);
        throw new errors.InvalidGrant(`${this.model} already used`);
      }
      payload.consumed = Math.floor(Date.now() / 1000);
      await store.set(this.key(id), payload, ttl);
    }

    /** Every token of the grant and the grant itself deleted; `grant.revoked` for the access tokens already out. */
    private async revokeGrant(grantId: string): Promise<void> {
      await this.revokeByGrantId(grantId);
      await store.delete(`${prefix}:Grant:${grantId}`);
      const ctx = Provider.ctx;
      ctx?.oidc.provider.emit('grant.revoked', ctx, grantId);
    }

    async destroy(id: string): Promise<void> {
      await store.delete(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const gk = `${prefix}:grant:${grantId}`;
      for (const k of (await store.get<string[]>(gk)) ?? []) await store.delete(k);
      await store.delete(gk);
    }
  };
}

export const accountGrantsKey = (prefix: string, accountId: string) => `${prefix}:account-grants:${accountId}`;
/** The registered (DCR) client ids, newest last, and each client's grant ids. */
export const clientIndexKey = (prefix = 'as') => `${prefix}:client-index`;
export const clientGrantsKey = (prefix: string, clientId: string) => `${prefix}:client-grants:${clientId}`;
const MAX_LISTED_CLIENTS = 5000;
const MAX_CLIENT_GRANTS = 10_000;

/** Adds `id` to the list at `key` (once), keeping the newest `max`. */
async function remember(store: Store, key: string, id: string, max: number): Promise<void> {
  const ids = (await store.get<string[]>(key)) ?? [];
  if (ids.includes(id)) return;
  await store.set(key, [...ids, id].slice(-max), FOREVER_S * 1000);
}

/** One grant, its tokens and codes deleted; `onRevoked` tells the replicas. */
export async function deleteGrant(
  store: Store,
  gid: string,
  onRevoked: (grantId: string) => Promise<void>,
  prefix = 'as',
): Promise<void> {
  await store.delete(grantKey(gid, prefix));
  const gk = `${prefix}:grant:${gid}`;
  for (const k of (await store.get<string[]>(gk)) ?? []) await store.delete(k);
  await store.delete(gk);
  await onRevoked(gid);
}

/** Where a grant lives: an access token is valid while this key exists (live-grants.ts). */
export const grantKey = (grantId: string, prefix = 'as') => `${prefix}:Grant:${grantId}`;

/**
 * Revokes every grant the authorization server holds for a user: the grants, their refresh
 * tokens, codes and device codes are deleted (so the JWT access tokens already issued are
 * refused), and `onRevoked` tells the replicas. Returns how many grants there were.
 */
export async function revokeUserGrants(
  store: Store,
  accountId: string,
  onRevoked: (grantId: string) => Promise<void>,
  prefix = 'as',
): Promise<number> {
  const ak = accountGrantsKey(prefix, accountId);
  const ids = (await store.get<string[]>(ak)) ?? [];
  for (const gid of ids) await deleteGrant(store, gid, onRevoked, prefix);
  await store.delete(ak);
  return ids.length;
}
