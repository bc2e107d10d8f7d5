/**
 * What triggers a reload in the CLI: SIGHUP, and with `server.watchConfig` changes to the
 * file (fs.watch on its directory, so editors that replace the file are seen; debounced).
 */
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { LoadResult } from '../config/load.js';
import type { ReloadResult } from './reload.js';

/** Installs the triggers; returns a function that removes them. */
export function reloadTriggers(o: {
  file?: string;
  watchConfig: boolean;
  load: () => LoadResult;
  reload: (r: LoadResult) => ReloadResult;
  log: FastifyBaseLogger;
  debounceMs?: number;
}): () => void {
  let unwatch: (() => void) | undefined;
  const run = (trigger: string) => {
    o.log.info({ event: 'config.reload', trigger, file: o.file }, 'reloading the configuration');
    const loaded = o.load();
    if (o.reload(loaded).ok) setWatch(loaded.config!.server.watchConfig);
  };
  const setWatch = (on: boolean) => {
    if (on && !unwatch && o.file) unwatch = watchFile(o.file, () => run('watch'), o.debounceMs ?? 300, o.log);
    if (!on && unwatch) {
      unwatch();
      unwatch = undefined;
    }
  };
  const onHup = () => run('SIGHUP');
  process.on('SIGHUP', onHup);
  setWatch(o.watchConfig);
  return () => {
    process.off('SIGHUP', onHup);
    setWatch(false);
  };
}

function watchFile(file: string, changed: () => void, debounceMs: number, log: FastifyBaseLogger): () => void {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(file), (_event, f) => {
    if (f && f !== name) return;
    clearTimeout(timer);
    timer = setTimeout(changed, debounceMs);
  });
  watcher.on('error', (e) =>
    log.warn({ event: 'config.watch_failed', reason: e.message }, 'watching the config file failed'),
  );
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
