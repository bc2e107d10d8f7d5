/** What the admin console's endpoint groups (src/admin/*.ts) are given: the services they read and change. */
import type { FastifyRequest } from 'fastify';
import type { AsRegistry } from '../authz-server/registry.js';
import type { Config } from '../config/load.js';
import type { LastUsed } from '../identity/last-used.js';
import type { Live } from '../live.js';
import type { AuditLog } from '../observability/audit.js';
import type { Logout } from '../session/logout.js';
import type { SessionTokens } from '../session/tokens.js';
import type { Store } from '../store/store.js';
import type { Connections } from '../upstream/connections.js';
import type { OAuthTokens } from '../upstream/oauth-tokens.js';

export interface AdminDeps {
  config: Config;
  live: Live;
  audit: AuditLog;
  store: Store;
  /** Absent when this proxy runs no authorization server: no clients or grants to list. */
  registry?: AsRegistry;
  logout: Logout;
  tokens: SessionTokens;
  connections: Connections;
  oauth: Pick<OAuthTokens, 'disconnect'>;
  lastUsed: LastUsed;
}

/** What every endpoint group gets: its dependencies and the audit line writer. */
export interface AdminContext extends AdminDeps {
  /** Writes the audit line of an admin action by the request's principal. */
  audited(req: FastifyRequest, action: string, target: string, result: 'done' | 'not_found', detail?: object): void;
}
