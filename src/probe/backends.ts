/**
 * Each backend as the proxy will reach it: an HTTP backend's URL answers (any HTTP status: the
 * server is there), a stdio backend's command is on PATH (or, as a path, an executable file).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { BackendConfig } from '../config/backend-schema.js';
import type { Config } from '../config/load.js';
import { Agent } from 'undici';
import { BackendConnector } from '../lib/outbound-tls.js';
import { ProbeFailure } from './cause.js';
import { reach, shownUrl } from './http.js';
import type { Probe, ProbeNet } from './types.js';

/** An HTTP backend is reached as its pools reach it: `tls.ca` and its own `http.tls` (CA, client certificate). */
export function backendProbes(config: Config, net: ProbeNet): Probe[] {
  return config.backends.map((b): Probe => {
    const what = `backend ${b.name}`;
    if (b.http) {
      const url = b.http.url;
      const tls = b.http.tls;
      const run = async (signal: AbortSignal) => {
        if (!url.startsWith('https:')) return reach(url, signal, net.dispatcher);
        const connector = new BackendConnector(net.tls.backend(tls, `backend "${b.name}" http.tls`));
        const own = new Agent({ connect: connector.connect });
        try {
          return await reach(url, signal, own);
        } catch (e) {
          throw connector.alertBehind(e) ?? e;
        } finally {
          await own.close().catch(() => undefined);
        }
      };
      return { what, target: shownUrl(url), run };
    }
    const stdio = b.stdio!;
    return { what, target: `command ${JSON.stringify(stdio.command)}`, run: async () => findCommand(stdio) };
  });
}

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** Where the command is, as spawn() would find it (the backend's PATH, its cwd for a relative path). */
export function findCommand(stdio: NonNullable<BackendConfig['stdio']>): string {
  const { command } = stdio;
  if (isAbsolute(command) || command.includes('/')) {
    const file = resolve(stdio.cwd ?? process.cwd(), command);
    try {
      statSync(file);
    } catch {
      throw new ProbeFailure(`not found: ${file}`);
    }
    if (!executable(file)) throw new ProbeFailure(`not executable: ${file}`);
    return file;
  }
  const path = stdio.env.PATH ?? process.env.PATH ?? '';
  for (const dir of path.split(delimiter)) {
    if (dir && executable(join(dir, command))) return join(dir, command);
  }
  throw new ProbeFailure('not found on PATH');
}
