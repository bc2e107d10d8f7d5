/**
 * Stage: who the user is, told to the backend. HTTP backends get the client's headers minus
 * credentials, hop-by-hop and spoofed identity headers, plus ours and the signed assertion
 * (and, for a backend with `upstream`, `Authorization` with the token obtained for it);
 * their body gets our `_meta` key when asked (the client's copy always removed). stdio
 * backends take identity in `_meta` (set per message by the bridge) and their environment,
 * and the upstream token in their environment and token file (handed to the backend).
 */
import type { FastifyRequest } from 'fastify';
import { inSpan } from '../../observability/tracing.js';
import type { Backend } from '../../backends/backend.js';
import type { Principal } from '../../identity/principal.js';
import type { AssertionSigner } from '../../propagation/assertion.js';
import { upstreamHeaders } from '../../propagation/headers.js';
import { identityMetaBody } from '../../propagation/meta.js';
import type { SessionTokens } from '../../session/tokens.js';
import type { UpstreamCredentials } from '../../upstream/credentials.js';
import type { McpRequest, Outgoing, Verdict } from '../request.js';

export interface PropagateDeps {
  signer: AssertionSigner;
  tokens: SessionTokens;
  publicUrl: URL;
  /** Credentials for backends with `upstream` (absent: no backend has one). */
  upstream?: Pick<UpstreamCredentials, 'credentialFor'>;
}

/** An external principal's own bearer token: the subject of an exchange at its IdP, never forwarded. */
const presentedBearer = (req: FastifyRequest, p: Principal) =>
  p.source === 'external' ? /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] : undefined;

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const DEFAULT_IDENTITY = { headers: true, assertion: true, meta: false };

export async function propagate(
  req: FastifyRequest,
  b: Backend,
  principal: Principal,
  request: McpRequest,
  verdict: Verdict,
  deps: PropagateDeps,
): Promise<Outgoing> {
  const identity = b.config.identity ?? DEFAULT_IDENTITY;
  const accessToken =
    b.config.forwardAccessToken && principal.sessionId
      ? (await deps.tokens.current(principal.sessionId))?.accessToken
      : undefined;
  // Ending a stdio session needs no token.
  if (!b.config.http && request.method === 'DELETE') return { headers: NO_HEADERS };
  // Obtained before anything else is built: a backend that needs it hears nothing without it (throws).
  const upstreamConfig = b.config.upstream;
  const upstream = upstreamConfig
    ? await inSpan(req, 'token.exchange', async (span) => {
        span?.set({ 'mcp_proxy.backend': b.name, 'mcp_proxy.upstream.kind': upstreamConfig.kind });
        return deps.upstream?.credentialFor(b.config, principal, presentedBearer(req, principal));
      })
    : undefined;
  if (b.config.upstream && !upstream) throw new Error(`no upstream credentials configured for "${b.name}"`);
  if (!b.config.http) return { headers: NO_HEADERS, credential: upstream, upstream: upstream?.kind };
  const headers = upstreamHeaders(req.headers, {
    principal,
    assertion: identity.assertion === false ? undefined : await deps.signer.sign(principal, b.audience),
    identityHeaders: identity.headers,
    clientIp: req.ip,
    publicUrl: deps.publicUrl,
    extra: b.config.http.headers,
    accessToken: upstream?.token ?? accessToken,
  });
  // A body a rule judged goes out as policy read it, re-serialised; otherwise the client's bytes.
  const body =
    identityMetaBody(request, principal, identity.meta === true) ??
    (verdict.judged && request.json ? Buffer.from(JSON.stringify(request.json.value)) : undefined);
  return { headers, body, upstream: upstream?.kind };
}
