/**
 * Who the proxy is at a backend's authorization server (an openid-client Configuration): the
 * configured client; else a Client ID Metadata Document (the server says
 * `client_id_metadata_document_supported` and publicUrl is https; the document is served at
 * `<publicUrl>/oauth/client-metadata.json`); else RFC 7591 dynamic registration, kept in the
 * store per (authorization server, redirect URI) so replicas and restarts reuse it.
 */
import * as oidc from 'openid-client';
import type { BackendConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { type AuthServer, type AuthServerDiscovery, clientOptions, DiscoveryError } from './oauth-discovery.js';

export const CLIENT_METADATA_PATH = '/oauth/client-metadata.json';
export const CONNECT_CALLBACK_PATH = '/connect/callback';
const CLIENT_NAME = 'mcp-oidc-proxy';
const REGISTRATION_TTL_MS = 365 * 24 * 3600_000;

type Method = 'client_secret_basic' | 'client_secret_post' | 'none';

interface Registration {
  clientId: string;
  clientSecret?: string;
  method: Method;
}

/** The Client ID Metadata Document (its URL is the client_id). */
export function clientMetadataDocument(publicUrl: string) {
  return {
    client_id: `${publicUrl}${CLIENT_METADATA_PATH}`,
    client_name: CLIENT_NAME,
    client_uri: publicUrl,
    redirect_uris: [`${publicUrl}${CONNECT_CALLBACK_PATH}`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}

export interface OAuthClient {
  server: AuthServer;
  cfg: oidc.Configuration;
  how: 'configured' | 'cimd' | 'dcr';
}

export class OAuthClients {
  private readonly registering = new Map<string, Promise<Registration>>();

  constructor(
    private readonly deps: {
      store: Store;
      publicUrl: string;
      discovery: AuthServerDiscovery;
      fetch?: typeof fetch;
    },
  ) {}

  get redirectUri(): string {
    return `${this.deps.publicUrl}${CONNECT_CALLBACK_PATH}`;
  }

  /** The client for `backend` at its authorization server (discovers and registers as needed). */
  async clientFor(backend: BackendConfig): Promise<OAuthClient> {
    const u = backend.upstream;
    if (u?.kind !== 'oauth') throw new DiscoveryError(`backend "${backend.name}" has no oauth upstream`);
    const server = await this.deps.discovery.get(backend);
    if (u.clientId) {
      const supported = server.metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
      const method: Method =
        u.tokenEndpointAuthMethod ??
        (!u.clientSecret
          ? 'none'
          : supported.includes('client_secret_basic')
            ? 'client_secret_basic'
            : 'client_secret_post');
      return {
        server,
        how: 'configured',
        cfg: this.configuration(server, { clientId: u.clientId, clientSecret: u.clientSecret, method }),
      };
    }
    if (server.metadata.client_id_metadata_document_supported === true && this.deps.publicUrl.startsWith('https:')) {
      const id = clientMetadataDocument(this.deps.publicUrl).client_id;
      return { server, how: 'cimd', cfg: this.configuration(server, { clientId: id, method: 'none' }) };
    }
    return { server, how: 'dcr', cfg: this.configuration(server, await this.registered(server)) };
  }

  /** A dynamically registered client the server no longer knows (invalid_client): registered again next time. */
  async forgetRegistration(server: AuthServer): Promise<void> {
    await this.deps.store.delete(this.registrationKey(server));
  }

  private registrationKey(server: AuthServer): string {
    return `upstream-oauth-client:${server.issuer}\0${this.redirectUri}`;
  }

  private async registered(server: AuthServer): Promise<Registration> {
    const key = this.registrationKey(server);
    const held = await this.deps.store.get<Registration>(key);
    if (held) return held;
    let p = this.registering.get(key);
    if (!p) {
      p = this.register(server, key).finally(() => this.registering.delete(key));
      this.registering.set(key, p);
    }
    return p;
  }

  private async register(server: AuthServer, key: string): Promise<Registration> {
    if (!server.metadata.registration_endpoint)
      throw new DiscoveryError(
        `${server.issuer} offers neither dynamic registration nor client ID metadata documents: set upstream.clientId`,
      );
    const supported = server.metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const method: Method = supported.includes('client_secret_basic') ? 'client_secret_basic' : 'none';
    const { client_id: _, ...metadata } = clientMetadataDocument(this.deps.publicUrl);
    const cfg = await oidc.dynamicClientRegistration(
      new URL(server.issuer),
      { ...metadata, token_endpoint_auth_method: method },
      undefined,
      { ...clientOptions(server.issuer, this.deps.fetch), algorithm: server.algorithm },
    );
    const c = cfg.clientMetadata();
    const reg: Registration = {
      clientId: cfg.clientMetadata().client_id,
      clientSecret: typeof c.client_secret === 'string' ? c.client_secret : undefined,
      method: (c.token_endpoint_auth_method as Method | undefined) ?? method,
    };
    const expires = typeof c.client_secret_expires_at === 'number' ? c.client_secret_expires_at * 1000 : 0;
    const ttl = expires > 0 ? Math.max(1000, expires - Date.now() - 60_000) : REGISTRATION_TTL_MS;
    await this.deps.store.set(key, reg, ttl);
    return reg;
  }

  private configuration(server: AuthServer, r: Registration): oidc.Configuration {
    const auth =
      r.method === 'none'
        ? oidc.None()
        : r.method === 'client_secret_post'
          ? oidc.ClientSecretPost(r.clientSecret)
          : oidc.ClientSecretBasic(r.clientSecret);
    const cfg = new oidc.Configuration(
      server.metadata,
      r.clientId,
      r.clientSecret === undefined ? undefined : { client_secret: r.clientSecret },
      auth,
    );
    if (new URL(server.issuer).protocol === 'http:') oidc.allowInsecureRequests(cfg);
    if (this.deps.fetch) cfg[oidc.customFetch] = this.deps.fetch as oidc.CustomFetch;
    cfg.timeout = 10;
    return cfg;
  }
}
