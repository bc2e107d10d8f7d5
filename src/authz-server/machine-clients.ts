/**
 * The operator's machine clients (`authorizationServer.clients`) as static oidc-provider clients:
 * their metadata, the rule that only they may use client_credentials, the principal their tokens
 * carry, single use of their private_key_jwt assertions, and their (operator-chosen) JWKS URLs.
 */
import { createHash } from 'node:crypto';
import Provider, { errors, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import { clientSubject, type AsClientConfig } from '../config/as-clients-schema.js';
import type { Store } from '../store/index.js';
import { storeUnavailable } from './adapter.js';

/** Grant types a configured client may use (the ID-JAG grant adds its own). */
export const MACHINE_GRANT_TYPES = ['client_credentials'];

/** The static client registrations, one per configured client. */
export function machineClientMetadata(clients: readonly AsClientConfig[]): ClientMetadata[] {
  return clients.map((c) => ({
    client_id: c.clientId,
    ...(c.clientSecret !== undefined
      ? // client_secret_post is accepted as well for a client registered with client_secret_basic.
        { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }
      : {
          token_endpoint_auth_method: 'private_key_jwt',
          ...(c.jwksUri ? { jwks_uri: c.jwksUri } : { jwks: structuredClone(c.jwks) as ClientMetadata['jwks'] }),
        }),
    grant_types: [...MACHINE_GRANT_TYPES],
    response_types: [],
    redirect_uris: [],
    scope: c.scopes.join(' '),
  }));
}

/** The configured clients by id. */
export class MachineClients {
  private readonly byId: ReadonlyMap<string, AsClientConfig>;
  private readonly jwksUris: ReadonlySet<string>;

  constructor(clients: readonly AsClientConfig[]) {
    this.byId = new Map(clients.map((c) => [c.clientId, c]));
    this.jwksUris = new Set(clients.flatMap((c) => (c.jwksUri ? [c.jwksUri] : [])));
  }

  get(clientId: string | undefined): AsClientConfig | undefined {
    return clientId === undefined ? undefined : this.byId.get(clientId);
  }

  has(clientId: string | undefined): boolean {
    return this.get(clientId) !== undefined;
  }

  /** A JWKS URL the operator configured (fetched without the special-use-address guard, like `oidc.issuer`). */
  isConfiguredJwksUri(url: string): boolean {
    return this.jwksUris.has(url);
  }

  /** The subject and groups a client_credentials access token carries (JWT customizer). */
  customizeJwt(token: { kind?: string; clientId?: string }, jwt: { payload: Record<string, unknown> }): void {
    if (token.kind !== 'ClientCredentials') return;
    const c = this.get(token.clientId);
    if (!c) return;
    jwt.payload.sub = clientSubject(c);
    jwt.payload.groups = [...c.groups];
  }
}

/**
 * Only configured clients may use client_credentials: a client registered dynamically or by a
 * metadata document gets `unauthorized_client` at the token endpoint (the only caller asking
 * about this grant type), even when its registration lists it.
 */
export function restrictClientCredentials(provider: Provider, clients: MachineClients): void {
  const proto = provider.Client.prototype as unknown as {
    grantTypeAllowed(type: string): boolean;
    clientId: string;
  };
  const original = proto.grantTypeAllowed;
  proto.grantTypeAllowed = function (this: typeof proto, type: string) {
    if (type === 'client_credentials' && !clients.has(this.clientId))
      throw new errors.UnauthorizedClient('only clients configured in authorizationServer.clients may use this grant');
    return original.call(this, type);
  };
}

/**
 * A configured client asking for no scope gets its configured scopes (RFC 6749 §3.3: a default
 * rather than none), narrowed as usual to those the resource offers.
 */
export function defaultClientScopes(provider: Provider, clients: MachineClients): void {
  const proto = provider.OIDCContext.prototype as object;
  const original = Object.getOwnPropertyDescriptor(proto, 'requestParamScopes')!.get!;
  Object.defineProperty(proto, 'requestParamScopes', {
    configurable: true,
    get(this: { route?: string; params?: Record<string, unknown>; client?: { clientId: string } }) {
      const p = this.params;
      const c = clients.get(this.client?.clientId);
      if (c && this.route === 'token' && p?.grant_type === 'client_credentials' && !p.scope) return new Set(c.scopes);
      return original.call(this);
    },
  });
}

/** The longest a private_key_jwt assertion may be valid for (its `jti` is remembered that long). */
export const MAX_ASSERTION_LIFETIME_S = 3600;

/**
 * A private_key_jwt assertion is used once: its `jti` is claimed in the store atomically (all replicas
 * share it), before oidc-provider's own read-then-write ReplayDetection check. Runs after its signature
 * was verified, so nobody can spend another client's jti.
 */
export function assertionOnce(store: Store, clockToleranceS = 15) {
  return async (_ctx: KoaContextWithOIDC, claims: Record<string, unknown>): Promise<void> => {
    const now = Math.floor(Date.now() / 1000);
    const exp = typeof claims.exp === 'number' ? claims.exp : 0;
    if (exp - now > MAX_ASSERTION_LIFETIME_S)
      throw new errors.InvalidClientAuth(`client_assertion may be valid for at most ${MAX_ASSERTION_LIFETIME_S}s`);
    const id = createHash('sha256')
      .update(`${String(claims.iss)}\0${String(claims.jti)}`)
      .digest('base64url');
    const ttlMs = Math.max(1, exp - now + clockToleranceS) * 1000;
    if (!(await store.claim(`as:assertion-jti:${id}`, ttlMs).catch(storeUnavailable)))
      throw new errors.InvalidClientAuth('client assertion tokens must only be used once');
  };
}
