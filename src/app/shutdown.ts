/**
 * Shutdown (`app.close()`): the backends stop taking sessions and end idle streams; once the calls
 * in flight have finished, what the app holds closes, the REST clients first and the outbound
 * connections last.
 */
import type { FastifyInstance } from 'fastify';
import type { BackendRegistry } from '../backends/registry.js';
import type { OutboundTls } from '../lib/outbound-tls.js';
import type { Replicas } from '../mcp/replicas.js';
import type { AuditLog } from '../observability/audit.js';
import type { Logout } from '../session/logout.js';
import type { Store } from '../store/index.js';
import type { RestMcpClients } from '../web/mcp-client.js';

export interface Held {
  backends: BackendRegistry;
  restClients: RestMcpClients;
  audit: AuditLog;
  replicas?: Replicas;
  logout: Logout;
  store: Store;
  outbound: OutboundTls;
}

export function closeOnShutdown(app: FastifyInstance, h: Held): void {
  app.addHook('preClose', () => h.backends.drain());
  app.addHook('onClose', async () => {
    await h.restClients.close();
    await h.audit.flush();
    await h.backends.close();
    await h.replicas?.close();
    await h.logout.close();
    await h.store.close();
    await h.outbound.close();
  });
}
