/**
 * The token endpoint and client a backend's `upstream` uses, as an openid-client
 * Configuration. tokenExchange defaults each part to `oidc`'s (the endpoint from the IdP's
 * discovery, its client, its auth method: `client_secret_basic` when offered); with nothing
 * overridden it is the login's own client. Plain http only for loopback (config checks it).
 */
import * as oidc from 'openid-client';
import type { BackendConfig } from '../config/schema.js';
import type { UpstreamClient } from '../oidc/client.js';

type Upstream = NonNullable<BackendConfig['upstream']>;
type Method = 'client_secret_basic' | 'client_secret_post';

export interface EndpointSettings {
  tokenEndpoint: string;
  clientId: string;
  clientSecret?: string;
  method: Method;
}

export function configurationFor(s: EndpointSettings, fetchImpl?: typeof fetch): oidc.Configuration {
  const endpoint = new URL(s.tokenEndpoint);
  const auth =
    s.method === 'client_secret_post' ? oidc.ClientSecretPost(s.clientSecret) : oidc.ClientSecretBasic(s.clientSecret);
  const cfg = new oidc.Configuration(
    { issuer: endpoint.origin, token_endpoint: endpoint.href },
    s.clientId,
    s.clientSecret === undefined ? undefined : { client_secret: s.clientSecret },
    auth,
  );
  if (endpoint.protocol === 'http:') oidc.allowInsecureRequests(cfg);
  if (fetchImpl) cfg[oidc.customFetch] = fetchImpl as oidc.CustomFetch;
  cfg.timeout = 10;
  return cfg;
}

/** The Configuration for a backend's upstream (throws when the IdP's discovery is unavailable). */
export async function endpointFor(
  u: Upstream,
  login: UpstreamClient | undefined,
  fetchImpl?: typeof fetch,
): Promise<oidc.Configuration> {
  if (u.kind === 'clientCredentials')
    return configurationFor({ ...u, method: u.tokenEndpointAuthMethod ?? 'client_secret_basic' }, fetchImpl);
  if (u.kind !== 'tokenExchange') throw new Error(`upstream kind "${u.kind}" is not implemented`);
  const overridden = u.tokenEndpoint || u.clientId || u.clientSecret || u.tokenEndpointAuthMethod;
  if (login && !overridden) return login.get();
  const base = login && (!u.tokenEndpoint || !u.clientId) ? await login.get() : undefined;
  const settings = login?.settings;
  const supported = base?.serverMetadata().token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  return configurationFor(
    {
      tokenEndpoint: u.tokenEndpoint ?? base!.serverMetadata().token_endpoint!,
      clientId: u.clientId ?? settings!.clientId,
      clientSecret: u.clientId ? u.clientSecret : settings?.clientSecret,
      method:
        u.tokenEndpointAuthMethod ??
        settings?.tokenEndpointAuthMethod ??
        (supported.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post'),
    },
    fetchImpl,
  );
}

/**
 * What the token endpoint said: `error` and `error_description` from its JSON body
 * (openid-client's ResponseBodyError) or its WWW-Authenticate challenge (a refused client);
 * else the network or library error code.
 */
export function endpointError(e: unknown): { error?: string; error_description?: string; reason: string } {
  const err = e as { error?: unknown; error_description?: unknown; code?: unknown; message?: string; cause?: unknown };
  const challenge = Array.isArray(err.cause)
    ? (err.cause[0] as { parameters?: Record<string, string> } | undefined)?.parameters
    : undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const error = str(err.error) ?? str(challenge?.error);
  const error_description = str(err.error_description) ?? str(challenge?.error_description);
  const cause = Array.isArray(err.cause) ? undefined : (err.cause as { code?: unknown } | undefined);
  return { error, error_description, reason: error ?? String(cause?.code ?? err.code ?? err.message) };
}
