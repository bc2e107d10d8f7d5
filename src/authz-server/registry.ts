/**
 * The authorization server's clients and grants as the admin console sees them (src/admin/): read
 * from oidc-provider's records in the store through the indexes the adapter keeps (adapter.ts),
 * and revoked the way logout revokes (every grant deleted, so its access tokens are refused).
 */
import type { Store } from '../store/store.js';
import { accountGrantsKey, clientGrantsKey, clientIndexKey, deleteGrant, grantKey } from './adapter.js';

const PREFIX = 'as';
const clientKey = (id: string) => `${PREFIX}:Client:${id}`;

/** A registered client (dynamic client registration), as oidc-provider stored it. */
export interface RegisteredClient {
  client_id: string;
  client_name?: string;
  redirect_uris?: string[];
  grant_types?: string[];
  token_endpoint_auth_method?: string;
  client_id_issued_at?: number;
}

/** A grant as oidc-provider stored it (seconds since epoch). */
interface GrantRecord {
  accountId?: string;
  clientId?: string;
  iat?: number;
  exp?: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

export interface GrantView {
  id: string;
  user: string | null;
  clientId: string | null;
  scopes: string[];
  resources: string[];
  /** ISO 8601, or null when unknown. */
  createdAt: string | null;
  expiresAt: string | null;
}

const iso = (s: number | undefined) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : null);

export class AsRegistry {
  constructor(
    private readonly store: Store,
    /** Tell the replicas and cut what depended on a grant (build.ts: grantGone). */
    private readonly onRevoked: (grantId: string) => Promise<void>,
  ) {}

  /**
   * The clients still known, newest last: registered ones (their stored record) and Client ID
   * Metadata Document clients while they hold a grant (the index may name deleted or expired ones).
   */
  async clients(): Promise<Array<{ kind: 'registered' | 'metadataDocument'; client: RegisteredClient }>> {
    const ids = (await this.store.get<string[]>(clientIndexKey(PREFIX))) ?? [];
    const found = await Promise.all(
      ids.map(async (id) => {
        const client = await this.store.get<RegisteredClient>(clientKey(id));
        if (client) return { kind: 'registered' as const, client };
        if (!/^https?:\/\//.test(id) || !(await this.grants({ clientId: id })).length) return undefined;
        return { kind: 'metadataDocument' as const, client: { client_id: id } };
      }),
    );
    return found.filter((c) => c !== undefined);
  }

  /** The live grant ids of a client (as stored). */
  async grantIdsOf(clientId: string): Promise<string[]> {
    return (await this.store.get<string[]>(clientGrantsKey(PREFIX, clientId))) ?? [];
  }

  /**
   * Deletes a registered client and every grant it holds (refresh tokens and codes with them; its
   * access tokens are refused once their grant is gone). False when no such client is stored.
   */
  async deleteClient(clientId: string): Promise<{ deleted: boolean; grants: number }> {
    const client = await this.store.get(clientKey(clientId));
    const gids = await this.grantIdsOf(clientId);
    for (const gid of gids) await deleteGrant(this.store, gid, this.onRevoked, PREFIX);
    await this.store.delete(clientGrantsKey(PREFIX, clientId));
    if (client) await this.store.delete(clientKey(clientId));
    const ids = (await this.store.get<string[]>(clientIndexKey(PREFIX))) ?? [];
    await this.store.set(
      clientIndexKey(PREFIX),
      ids.filter((id) => id !== clientId),
      30 * 24 * 3600_000,
    );
    return { deleted: client !== undefined, grants: gids.length };
  }

  /** The stored grants of a user (`accountId`, the login's `sub`) or of a client. */
  async grants(by: { user?: string; clientId?: string }): Promise<GrantView[]> {
    const ids = by.user
      ? ((await this.store.get<string[]>(accountGrantsKey(PREFIX, by.user))) ?? [])
      : await this.grantIdsOf(by.clientId ?? '');
    const views = await Promise.all(ids.map((id) => this.grant(id)));
    return views.filter((g): g is GrantView => g !== undefined && (!by.clientId || g.clientId === by.clientId));
  }

  async grant(id: string): Promise<GrantView | undefined> {
    const g = await this.store.get<GrantRecord>(grantKey(id, PREFIX));
    if (!g) return undefined;
    return {
      id,
      user: g.accountId ?? null,
      clientId: g.clientId ?? null,
      scopes: [...new Set([g.openid?.scope ?? '', ...Object.values(g.resources ?? {})].join(' ').split(' '))].filter(
        Boolean,
      ),
      resources: Object.keys(g.resources ?? {}),
      createdAt: iso(g.iat),
      expiresAt: iso(g.exp),
    };
  }

  /** Deletes one grant; false when it is not stored. */
  async deleteGrant(id: string): Promise<boolean> {
    if (!(await this.store.get(grantKey(id, PREFIX)))) return false;
    await deleteGrant(this.store, id, this.onRevoked, PREFIX);
    return true;
  }
}
