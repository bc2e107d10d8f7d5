/**
 * `subscriptions/listen` over a 2025 session: list-changed notifications and 2025 resource
 * subscriptions, passed to each open listen stream that asked for them, tagged with its id.
 */
import { randomBytes } from 'node:crypto';
import { rpcError, type RequestId, type RpcMessage } from '../mcp/jsonrpc.js';
import { INVALID_REQUEST } from '../mcp/stateless.js';
import { SUBSCRIPTION_ID_META } from './revision.js';
import type { ExchangeSink } from './sink.js';
import type { Upstream2025 } from './upstream.js';

interface Filter {
  toolsListChanged?: true;
  promptsListChanged?: true;
  resourcesListChanged?: true;
  resourceSubscriptions?: string[];
}

interface Listener {
  id: string;
  clientId: RequestId;
  filter: Filter;
  sink: ExchangeSink;
}

const LIST_CHANGED: Record<string, 'toolsListChanged' | 'promptsListChanged' | 'resourcesListChanged'> = {
  'notifications/tools/list_changed': 'toolsListChanged',
  'notifications/prompts/list_changed': 'promptsListChanged',
  'notifications/resources/list_changed': 'resourcesListChanged',
};

type Caps = Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined>;

export class Listeners {
  private readonly open = new Set<Listener>();
  /** Listen streams per subscribed URI: the 2025 subscription lasts while one is open. */
  private readonly uris = new Map<string, number>();
  /** Our own subscribe / unsubscribe requests, whose answers nobody else wants. */
  private readonly own = new Set<string>();

  constructor(
    private readonly up: Upstream2025,
    private readonly newId: () => string,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** Opens a stream: acknowledged first, with what the server can deliver of what the client asked. */
  listen(m: RpcMessage & { id: RequestId }, init: Record<string, unknown>, sink: ExchangeSink): void {
    if (!sink.canStream) {
      sink.end(406, rpcError(m.id, INVALID_REQUEST, 'subscriptions/listen needs Accept: text/event-stream'));
      return;
    }
    const asked = (m.params?.notifications ?? {}) as Record<string, unknown>;
    const caps = (init.capabilities ?? {}) as Caps;
    const filter: Filter = {};
    if (asked.toolsListChanged === true && caps.tools?.listChanged) filter.toolsListChanged = true;
    if (asked.promptsListChanged === true && caps.prompts?.listChanged) filter.promptsListChanged = true;
    if (asked.resourcesListChanged === true && caps.resources?.listChanged) filter.resourcesListChanged = true;
    const uris = Array.isArray(asked.resourceSubscriptions)
      ? asked.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
      : [];
    if (uris.length && caps.resources?.subscribe) filter.resourceSubscriptions = [...new Set(uris)];
    const l: Listener = { id: randomBytes(12).toString('base64url'), clientId: m.id, filter, sink };
    this.open.add(l);
    sink.notify({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: filter, _meta: { [SUBSCRIPTION_ID_META]: l.id } },
    });
    for (const uri of filter.resourceSubscriptions ?? []) this.count(uri, +1);
    sink.onClose(() => this.drop(l));
  }

  /** A notification for listen streams: delivered to those that asked; true when it was one. */
  offer(m: RpcMessage): boolean {
    const kind = LIST_CHANGED[m.method!];
    const uri = m.method === 'notifications/resources/updated' ? m.params?.uri : undefined;
    if (!kind && uri === undefined) return false;
    for (const l of this.open) {
      if (kind ? !l.filter[kind] : !l.filter.resourceSubscriptions?.includes(String(uri))) continue;
      const meta = { ...((m.params?._meta as object) ?? {}), [SUBSCRIPTION_ID_META]: l.id };
      l.sink.notify({ jsonrpc: '2.0', method: m.method, params: { ...m.params, _meta: meta } });
    }
    return true;
  }

  /** An answer to our own subscribe / unsubscribe: consumed here. */
  answered(m: RpcMessage): boolean {
    return this.own.delete(String(m.id));
  }

  /** A new upstream session: the 2025 subscriptions open streams hold are made again on it. */
  renewed(): void {
    for (const uri of this.uris.keys()) {
      const id = this.newId();
      this.own.add(id);
      this.up.send({ jsonrpc: '2.0', id, method: 'resources/subscribe', params: { uri } });
    }
  }

  /** Every stream ends with its (empty) result. */
  closeAll(): void {
    for (const l of [...this.open]) {
      this.drop(l);
      l.sink.end(200, {
        jsonrpc: '2.0',
        id: l.clientId,
        result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_META]: l.id } },
      });
    }
  }

  private drop(l: Listener) {
    if (!this.open.delete(l)) return;
    for (const uri of l.filter.resourceSubscriptions ?? []) this.count(uri, -1);
  }

  private count(uri: string, by: 1 | -1) {
    const n = (this.uris.get(uri) ?? 0) + by;
    if (n > 0) this.uris.set(uri, n);
    else this.uris.delete(uri);
    if ((by === 1 && n === 1) || n === 0) {
      const id = this.newId();
      this.own.add(id);
      const method = by === 1 ? 'resources/subscribe' : 'resources/unsubscribe';
      this.up.send({ jsonrpc: '2.0', id, method, params: { uri } });
    }
  }
}
