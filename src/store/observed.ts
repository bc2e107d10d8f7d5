/** A Store that reports every failed call (for `mcp_proxy_store_errors_total`), then fails as the store did. */
import type { Store } from './store.js';

export type StoreOperation = 'get' | 'set' | 'delete' | 'claim';

export class ObservedStore implements Store {
  readonly publish?: Store['publish'];
  readonly subscribe?: Store['subscribe'];

  constructor(
    readonly inner: Store,
    private readonly onError: (operation: StoreOperation) => void,
  ) {
    if (inner.publish) this.publish = (channel, message) => inner.publish!(channel, message);
    if (inner.subscribe) this.subscribe = (channel, onMessage) => inner.subscribe!(channel, onMessage);
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.watch('get', () => this.inner.get<T>(key));
  }

  set(key: string, value: unknown, ttlMs: number): Promise<void> {
    return this.watch('set', () => this.inner.set(key, value, ttlMs));
  }

  delete(key: string): Promise<void> {
    return this.watch('delete', () => this.inner.delete(key));
  }

  claim(key: string, ttlMs: number): Promise<boolean> {
    return this.watch('claim', () => this.inner.claim(key, ttlMs));
  }

  async ready(): Promise<boolean> {
    return this.inner.ready ? this.inner.ready() : true;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** No extra async frame per call: the store's own promise, with a rejection handler. */
  private watch<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    return call().catch((e: unknown) => {
      this.onError(operation);
      throw e;
    });
  }
}
