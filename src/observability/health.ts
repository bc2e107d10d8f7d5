/**
 * `/healthz`: the process is alive. `/readyz`: config, keys and listeners are up (200); the
 * IdP, the store and each backend are reported in the body but never make it fail (README, Endpoints).
 */
import type { FastifyInstance } from 'fastify';
import type { BackendStatus } from '../backends/backend.js';
import type { BackendRegistry } from '../backends/registry.js';
import type { UpstreamClient } from '../oidc/client.js';

const CACHE_MS = 5000;
const PROBE_MS = 1500;

/** Discovery state, waiting at most PROBE_MS: a slow IdP must not make the readiness probe time out. */
async function idpStatus(client: UpstreamClient) {
  const issuer = client.settings.issuer;
  const settled = client.get().then(
    () => ({ ok: true, issuer }),
    () => ({ ok: false, issuer, detail: client.lastError }),
  );
  const slow = new Promise<{ ok: boolean; issuer: string; detail?: string }>((r) =>
    setTimeout(() => r({ ok: false, issuer, detail: 'discovery in progress' }), PROBE_MS).unref(),
  );
  return Promise.race([settled, slow]);
}

/** A virtual server is as ready as its members: each is reported from that backend's own status. */
function withMembers(all: Record<string, BackendStatus>): Record<string, BackendStatus> {
  const out: Record<string, BackendStatus> = {};
  for (const [name, s] of Object.entries(all)) {
    if (!s.members) {
      out[name] = s;
      continue;
    }
    const { members, ...rest } = s;
    const down = members.filter((m) => all[m] && !all[m]!.ok);
    out[name] = down.length
      ? {
          ...rest,
          ok: false,
          detail: `${rest.detail}; not ready: ${down.map((m) => `${m} (${all[m]!.detail})`).join(', ')}`,
        }
      : { ...rest, detail: `${rest.detail}; all ${members.length} ready` };
  }
  return out;
}

export async function healthRoutes(
  app: FastifyInstance,
  opts: { backends: BackendRegistry; client?: UpstreamClient; store: { kind: string; ready?(): Promise<boolean> } },
) {
  let cached: { at: number; body: unknown } | undefined;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.body;
    const idp = opts.client ? await idpStatus(opts.client) : { ok: true, detail: 'no upstream IdP configured' };
    const entries = await Promise.all(opts.backends.all().map(async (b) => [b.name, await b.status()] as const));
    const backends = withMembers(Object.fromEntries(entries));
    const storeOk = opts.store.ready ? await opts.store.ready() : true;
    const body = {
      ready: true,
      idp,
      store: {
        kind: opts.store.kind,
        ok: storeOk,
        ...(storeOk ? {} : { detail: 'unreachable: calls that need it fail until it is back' }),
      },
      backends,
    };
    cached = { at: Date.now(), body };
    return body;
  });
}
