/**
 * Bearer credentials as an identity source, tried in the identity order
 * (docs/ARCHITECTURE.md, "Pipeline"): API key (hash lookup,
 * `Authorization: Bearer` or `X-API-Key`), a JWT this proxy issued, a JWT from a configured
 * external issuer, then an opaque token by introspection. A credential that is presented but
 * bad is a 401 `invalid_token` (never a fall-through to the cookie). Tokens in the query
 * string are refused. This proxy's tokens may also come as `DPoP <token>` with a proof (tokens/dpop.ts).
 */
import type { FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import { MCP_SCOPE } from '../authz-server/provider.js';
import { bearerChallenge, resourcePath } from '../identity/challenge.js';
import type { Principal } from '../identity/principal.js';
import { sha256Hex } from '../lib/crypto.js';
import { isMcpPath } from '../lib/paths.js';
import type { ApiKeys } from './apikeys.js';
import { isDpopRefusal, presentation, type DpopVerifier } from './dpop.js';
import { unverifiedIssuer, type ExternalJwtVerifier } from './external-jwt.js';
import type { IntrospectionVerifier } from './introspection.js';
import type { ProxyTokenVerifier } from './proxy-jwt.js';
import { inSpan, type TraceSpan } from '../observability/tracing.js';

export interface BearerSourceOptions {
  publicUrl: string;
  /** The live state: its resources (tokens for any of them are valid on `/api` and `/oauth/status`) and API keys. */
  live: { readonly current: { readonly resources: ReadonlyMap<string, string[]>; readonly apiKeys: ApiKeys } };
  proxy?: ProxyTokenVerifier;
  external?: ExternalJwtVerifier;
  introspection?: IntrospectionVerifier;
  /** DPoP at the resource; absent or `off`: the DPoP scheme is refused and bound tokens are too. */
  dpop?: DpopVerifier;
}

export function bearerSource(o: BearerSourceOptions) {
  /**
   * `/mcp/<b>` accepts tokens for exactly that URL; other protected paths accept any of ours
   * (read live: a reload may add backends).
   */
  const audiencesFor = (path: string) =>
    isMcpPath(path) ? [`${o.publicUrl}${path}`] : [...o.live.current.resources.keys()];

  const reject = (req: FastifyRequest, reason: string, e?: unknown): never => {
    req.log.info(
      { event: 'auth.invalid_token', reason: (e as { reason?: string })?.reason ?? reason },
      'bearer credential refused',
    );
    const err = (
      e instanceof Error && ((e as { statusCode?: number }).statusCode !== 401 || isDpopRefusal(e))
        ? e
        : new Errors.INVALID_TOKEN()
    ) as Error & { headers?: Record<string, string> };
    if ((err as { statusCode?: number }).statusCode !== 401) throw err;
    const challenge = bearerChallenge(o.publicUrl, resourcePath(req), {
      error: isDpopRefusal(err) ? err.dpop.error : 'invalid_token',
      error_description: isDpopRefusal(err) ? err.reason : reason,
      scope: MCP_SCOPE,
    });
    // A DPoP refusal says DPoP (RFC 9449 §7.1); other challenges get DPoP added as they are sent (dpop.onSend).
    if (isDpopRefusal(err) && o.dpop) {
      err.headers = { 'www-authenticate': o.dpop.challenge(challenge.slice('Bearer '.length)) };
      if (err.dpop.nonce) err.headers['dpop-nonce'] = err.dpop.nonce;
    } else err.headers = { 'www-authenticate': challenge };
    throw err;
  };

  return async function fromBearer(req: FastifyRequest): Promise<Principal | null> {
    const query = req.url.indexOf('?');
    if (query !== -1 && /[?&]access_token=/.test(req.url.slice(query)))
      reject(req, 'tokens in the query string are not accepted: use the Authorization header');
    const apiKeyHeader = req.headers['x-api-key'];
    const auth = req.headers.authorization;
    const dpopOn = o.dpop !== undefined && o.dpop.mode !== 'off';
    const presented = typeof apiKeyHeader === 'string' ? undefined : presentation(req);
    if (presented?.scheme === 'dpop' && !dpopOn) reject(req, 'unsupported Authorization scheme: use Bearer');
    const token = typeof apiKeyHeader === 'string' ? apiKeyHeader : presented?.token;
    if (!token) {
      if (auth && !/^Basic /i.test(auth)) reject(req, 'unsupported Authorization scheme: use Bearer');
      return null;
    }
    return inSpan(req, 'token.verify', (span) => verify(req, token, presented, typeof apiKeyHeader === 'string', span));
  };

  /** The presented credential checked (span: which kind of credential it was, never the credential). */
  async function verify(
    req: FastifyRequest,
    token: string,
    presented: ReturnType<typeof presentation>,
    apiKeyHeader: boolean,
    span: TraceSpan | undefined,
  ): Promise<Principal | null> {
    const dpopOn = o.dpop !== undefined && o.dpop.mode !== 'off';
    // One digest per request serves the API key lookup and the verified-token cache.
    const digest = sha256Hex(token);
    const byKey = presented?.scheme === 'dpop' ? undefined : o.live.current.apiKeys.lookupDigest(digest);
    if (byKey || apiKeyHeader) span?.set({ 'mcp_proxy.token.kind': 'api_key' });
    if (byKey) return byKey;
    if (apiKeyHeader) return reject(req, 'unknown API key');
    const known = o.proxy?.isCached(digest);
    const iss = known ? undefined : unverifiedIssuer(token);
    try {
      if (known || o.proxy?.handles(iss)) {
        span?.set({ 'mcp_proxy.token.kind': 'proxy_jwt' });
        const bind = dpopOn && presented ? (jkt: string | undefined) => o.dpop!.bind(presented, token, jkt) : undefined;
        return await o.proxy!.verify(token, audiencesFor(resourcePath(req)), digest, bind);
      }
      if (presented?.scheme === 'dpop') return reject(req, "DPoP is accepted for this proxy's own tokens only");
      if (iss && o.external?.handles(iss)) {
        span?.set({ 'mcp_proxy.token.kind': 'external_jwt' });
        return await o.external.verify(token);
      }
      if (o.introspection) {
        span?.set({ 'mcp_proxy.token.kind': 'introspection' });
        return await o.introspection.verify(token);
      }
    } catch (e) {
      return reject(req, 'the access token is invalid or expired', e);
    }
    return reject(req, 'unknown token issuer');
  }
}
