/**
 * The parts of `upstream: {kind: oauth}` built together (one place for the composition root):
 * discovery, the proxy's clients at backends' authorization servers, each user's connections,
 * the connect records and flow, and the tokens backends receive.
 */
import type { BackendConfig } from '../config/schema.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.js';
import { ConnectRecords } from './connect-records.js';
import { Connections } from './connections.js';
import { OAuthClients } from './oauth-client.js';
import { ConnectFlow } from './oauth-connect.js';
import { AuthServerDiscovery } from './oauth-discovery.js';
import { type OAuthResult, OAuthTokens } from './oauth-tokens.js';

export interface OAuthUpstream {
  connections: Connections;
  records: ConnectRecords;
  flow: ConnectFlow;
  tokens: OAuthTokens;
}

export function createOAuthUpstream(deps: {
  store: Store;
  publicUrl: string;
  log: FastifyBaseLogger;
  fetch?: typeof fetch;
  /** A backend's own fetch (its `http.tls`) for its RFC 9728 metadata. */
  backendFetch?: (backend: BackendConfig) => typeof fetch | undefined;
  count?: (backend: string, result: OAuthResult) => void;
}): OAuthUpstream {
  const { store, publicUrl, log } = deps;
  const connections = new Connections(store);
  const records = new ConnectRecords(store);
  const discovery = new AuthServerDiscovery(deps.fetch, deps.backendFetch);
  const clients = new OAuthClients({ store, publicUrl, discovery, fetch: deps.fetch });
  return {
    connections,
    records,
    flow: new ConnectFlow({ clients, records, connections, log }),
    tokens: new OAuthTokens({ connections, clients, discovery, records, publicUrl, log, count: deps.count }),
  };
}
