/**
 * Expected start-up failures (bad arguments, a file that cannot be read, an address that cannot
 * be listened on): each a coded error (src/errors.ts) printed by the CLI as one line saying what
 * and how to fix it, with an exit code. Anything else is unexpected and keeps its stack.
 */
import { Errors } from '../errors.js';

const EXIT_CODES: Record<string, number> = {
  USAGE: 2,
  FILE_UNREADABLE: 1,
  LISTEN_FAILED: 1,
  CONFIG_INVALID: 1,
  TLS_INVALID: 1,
};

type Errno = NodeJS.ErrnoException;

const FILE_FIXES: Record<string, string> = {
  ENOENT: 'check the path',
  EACCES: 'check its permissions: the proxy must be able to read it',
  EPERM: 'check its permissions: the proxy must be able to read it',
  EISDIR: 'name a file, not a directory',
};

/** A file the proxy must read could not be read: which one, why, and what to do. */
export function fileUnreadable(what: string, path: string, e: Errno, hint?: string) {
  const fix = [FILE_FIXES[e.code ?? ''] ?? 'check the file', hint].filter(Boolean).join(', or ');
  return new Errors.FILE_UNREADABLE(what, path, e.code ?? e.message, fix);
}

/** `listen` failed for a reason the user can fix; undefined for anything else (it stays unexpected). */
export function listenFailed(e: Errno, host: string, port: number) {
  const where = `port ${port} on ${host}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return new Errors.LISTEN_FAILED(`${where} is in use (EADDRINUSE): stop the other process or use --port`);
    case 'EACCES':
      return new Errors.LISTEN_FAILED(
        `no permission to listen on ${where} (EACCES): ` +
          'use a port above 1023 (--port), or run with cap_net_bind_service',
      );
    case 'EADDRNOTAVAIL':
      return new Errors.LISTEN_FAILED(
        `${host} is not an address of this machine (EADDRNOTAVAIL): use --host with one of its addresses, or 0.0.0.0`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Errors.LISTEN_FAILED(`cannot resolve the host name "${host}" (${e.code}): use --host with an address`);
    default:
      return undefined;
  }
}

/** The line and exit code for an expected start-up failure, or undefined when `err` is unexpected. */
export function startupFailure(err: unknown): { line: string; exitCode: number } | undefined {
  const e = err as Errno | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code in EXIT_CODES) return { line: `error: ${e!.message}`, exitCode: EXIT_CODES[code]! };
  // A file some part of the proxy reads at start (a signing key, a TLS certificate …).
  if (e?.path && FILE_FIXES[code]) return startupFailure(fileUnreadable('file', e.path, e));
  // Node's argument parser (an unknown option, a missing value): its message says which.
  if (code.startsWith('ERR_PARSE_ARGS_'))
    return { line: `error: ${e!.message.replace(/\s*\n\s*/g, ' ')} (see --help)`, exitCode: 2 };
  return undefined;
}
