/** The store factory: one place that picks the implementation from config. */
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { MemoryStore } from './memory.js';
import type { Store } from './store.js';

export type { Store } from './store.js';

export function createStore(config: Config['store']): Store {
  if (config.kind === 'memory') return new MemoryStore();
  throw new Errors.NOT_IMPLEMENTED(`store kind "${config.kind}"`);
}
