/**
 * Where an `upstream: {kind: oauth}` backend's own authorization server is, and what it offers:
 * `issuer` when configured, else the backend's RFC 9728 protected-resource metadata
 * (`/.well-known/oauth-protected-resource<path>`, then at the root, then the `resource_metadata`
 * of the backend's 401 challenge), `authorization_servers[0]`; then that server's RFC 8414 or
 * OpenID Connect metadata through openid-client. Cached per backend for an hour; a failure is
 * not cached, and `forget` drops an entry after the server failed (the next use discovers again).
 */
import * as oidc from 'openid-client';
import type { BackendConfig } from '../config/schema.js';
import { sha256Hex } from '../lib/crypto.js';
import { isHttpsOrLoopbackHttp } from '../lib/net.js';

export interface AuthServer {
  issuer: string;
  metadata: oidc.ServerMetadata;
  /** The discovery that found it (registration discovers the same way). */
  algorithm: 'oauth2' | 'oidc';
  /** The `resource` sent with authorization and token requests (absent: none). */
  resource?: string;
}

const DISCOVERY_TTL_MS = 3600_000;
const TIMEOUT_S = 10;

/** A discovery failure, with the reason for the logs. */
export class DiscoveryError extends Error {
  readonly code = 'DISCOVERY_FAILED';
}

/** openid-client options for a server that may be plain http on loopback (config and metadata check it). */
export function clientOptions(url: string, fetchImpl?: typeof fetch) {
  const options: oidc.DiscoveryRequestOptions = { timeout: TIMEOUT_S };
  if (new URL(url).protocol === 'http:') options.execute = [oidc.allowInsecureRequests];
  if (fetchImpl) options[oidc.customFetch] = fetchImpl as oidc.CustomFetch;
  return options;
}

export class AuthServerDiscovery {
  private readonly held = new Map<string, { at: number; found: Promise<AuthServer> }>();

  constructor(
    private readonly fetchImpl: typeof fetch = fetch,
    /** The fetch for a backend's own URLs when it has `http.tls` (its CA, client certificate). */
    private readonly backendFetch?: (backend: BackendConfig) => typeof fetch | undefined,
  ) {}

  /** The backend's authorization server (discovered once an hour; again at once after a failure). */
  get(backend: BackendConfig): Promise<AuthServer> {
    const key = `${backend.name}\0${sha256Hex(JSON.stringify([backend.upstream, backend.http?.url]))}`;
    const hit = this.held.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.found;
    const found = this.discover(backend);
    this.held.set(key, { at: Date.now(), found });
    found.catch(() => {
      if (this.held.get(key)?.found === found) this.held.delete(key);
    });
    return found;
  }

  /** Forget what was found for `backend` (its server failed): the next use discovers again. */
  forget(backend: string): void {
    for (const key of this.held.keys()) if (key.startsWith(`${backend}\0`)) this.held.delete(key);
  }

  private async discover(backend: BackendConfig): Promise<AuthServer> {
    const u = backend.upstream;
    if (u?.kind !== 'oauth') throw new DiscoveryError(`backend "${backend.name}" has no oauth upstream`);
    const resource = u.resource ?? backend.http?.url;
    const own = this.backendFetch?.(backend) ?? this.fetchImpl;
    const issuer = u.issuer ?? (await this.fromResourceMetadata(backend.http!.url, resource!, own));
    const failures: string[] = [];
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      try {
        const cfg = await oidc.discovery(new URL(issuer), 'metadata-only', undefined, undefined, {
          ...clientOptions(issuer, this.fetchImpl),
          algorithm,
        });
        return { issuer: cfg.serverMetadata().issuer, metadata: cfg.serverMetadata(), algorithm, resource };
      } catch (e) {
        failures.push(`${algorithm}: ${(e as Error).message}`);
      }
    }
    throw new DiscoveryError(`no authorization server metadata at ${issuer} (${failures.join('; ')})`);
  }

  /** RFC 9728: the first authorization server the backend's protected-resource metadata names. */
  private async fromResourceMetadata(backendUrl: string, resource: string, get: typeof fetch): Promise<string> {
    const url = new URL(backendUrl);
    const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    const candidates = [`${url.origin}/.well-known/oauth-protected-resource${path}`];
    if (path) candidates.push(`${url.origin}/.well-known/oauth-protected-resource`);
    for (const at of candidates) {
      const meta = await this.json(at, get);
      if (meta) return this.serverOf(meta, at, resource);
    }
    const challenged = await this.challengeMetadataUrl(backendUrl, get);
    // The metadata URL the backend names may be elsewhere: the backend's TLS settings only for its own origin.
    const via = challenged && new URL(challenged).origin === new URL(backendUrl).origin ? get : this.fetchImpl;
    const meta = challenged && isHttpsOrLoopbackHttp(challenged) ? await this.json(challenged, via) : undefined;
    if (meta) return this.serverOf(meta, challenged!, resource);
    throw new DiscoveryError(`backend ${backendUrl} publishes no RFC 9728 protected-resource metadata`);
  }

  private serverOf(meta: Record<string, unknown>, at: string, resource: string): string {
    const same = (a: string, b: string) => a.replace(/\/$/, '') === b.replace(/\/$/, '');
    if (typeof meta.resource === 'string' && !same(meta.resource, resource))
      throw new DiscoveryError(`the metadata at ${at} is for resource ${meta.resource}, not ${resource}`);
    const servers = meta.authorization_servers;
    const first = Array.isArray(servers) ? servers[0] : undefined;
    if (typeof first !== 'string' || !isHttpsOrLoopbackHttp(first))
      throw new DiscoveryError(`the metadata at ${at} names no https authorization server`);
    return first;
  }

  /** The `resource_metadata` of the backend's 401 to a request without a token. */
  private async challengeMetadataUrl(backendUrl: string, get: typeof fetch): Promise<string | undefined> {
    try {
      const res = await get(backendUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'ping' }),
        signal: AbortSignal.timeout(TIMEOUT_S * 1000),
        redirect: 'manual',
      });
      await res.body?.cancel();
      if (res.status !== 401) return undefined;
      return /resource_metadata="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
    } catch {
      return undefined;
    }
  }

  private async json(url: string, get: typeof fetch): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await get(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(TIMEOUT_S * 1000),
        redirect: 'manual',
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        return undefined;
      }
      const body = (await res.json()) as unknown;
      return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}
