/**
 * Starting one stdio child: its environment (the configured one; identity for a child of one
 * user or session; the upstream token and its file for a backend with `upstream.env`), logged.
 * The token file goes when the child ends.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { BackendConfig } from '../../config/schema.js';
import type { Principal } from '../../identity/principal.js';
import { StdioChild, childEnv } from './child.js';
import { Errors } from '../../errors.js';
import type { UpstreamCredentials } from '../../upstream/credentials.js';
import { TokenFile, type ChildToken } from './token-file.js';

export interface SpawnOptions {
  /** `user:<sub>`, `session:<id>` or `*`. */
  key: string;
  /** The upstream token obtained for the request that starts the child (backends with `upstream`). */
  credential?: ChildToken;
  /** Obtains the token again when the file must be renewed (for the backend's current definition). */
  upstream?: Pick<UpstreamCredentials, 'credentialFor'>;
  log: FastifyBaseLogger;
}

export interface Spawned {
  child: StdioChild;
  tokenFile?: TokenFile<Principal>;
}

/** `current` is the backend's definition, now and at each renewal (a reload may change policy in place). */
export function spawnChild(current: () => BackendConfig, p: Principal, o: SpawnOptions): Spawned {
  const def = current();
  const stdio = def.stdio!;
  const iso = stdio.isolation;
  const identityEnv: Record<string, string> =
    (def.identity?.env ?? iso === 'user') && iso !== 'shared'
      ? { MCP_PROXY_USER_SUB: p.sub, MCP_PROXY_USER_EMAIL: p.email ?? '', MCP_PROXY_USER_GROUPS: p.groups.join(',') }
      : {};
  const name = def.upstream?.env;
  // Config allows upstream on one user's or session's child only: a shared child never gets a token.
  const tokenFile =
    o.credential && typeof name === 'string' && iso !== 'shared'
      ? new TokenFile(o.credential, p, { env: name, renew: (who) => renew(current(), who, o.upstream), log: o.log })
      : undefined;
  let child: StdioChild;
  try {
    child = new StdioChild({
      command: stdio.command,
      args: stdio.args,
      cwd: stdio.cwd,
      env: childEnv(stdio.env, { ...identityEnv, ...tokenFile?.env() }),
      log: o.log.child({ isolation: o.key.split(':')[0] }),
    });
  } catch (e) {
    tokenFile?.close();
    throw e;
  }
  if (tokenFile) {
    child.proc.once('exit', () => tokenFile.close());
    child.proc.once('error', () => tokenFile.close());
  }
  o.log.info(
    { event: 'stdio.spawn', pid: child.pid, isolation: iso, sub: iso === 'shared' ? undefined : p.sub },
    'stdio server started',
  );
  return { child, tokenFile };
}

async function renew(def: BackendConfig, who: Principal, upstream: SpawnOptions['upstream']): Promise<ChildToken> {
  const c = await upstream?.credentialFor(def, who);
  if (!c) throw new Errors.UPSTREAM_TOKEN_FAILED(def.name);
  return c;
}
