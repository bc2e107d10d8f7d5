/** The OAuth steps an MCP client takes, one by one, for negative tests (plain fetch, PKCE by hand). */
import { createHash, randomBytes } from 'node:crypto';
import { CookieJar, headlessLogin } from './login.js';

export const b64url = (b: Buffer) => b.toString('base64url');

export async function asMetadata(proxyUrl: string): Promise<Record<string, string>> {
  return (await (await fetch(`${proxyUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
}

export async function register(
  proxyUrl: string,
  redirect = 'http://127.0.0.1:33418/callback',
  extra: Record<string, unknown> = {},
) {
  const meta = await asMetadata(proxyUrl);
  const res = await fetch(meta.registration_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'negative-test',
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...extra,
    }),
  });
  if (res.status !== 201) throw new Error(`registration: ${res.status} ${await res.text()}`);
  return { meta, client: (await res.json()) as { client_id: string } };
}

export function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

export function authorizeUrl(meta: Record<string, string>, params: Record<string, string>) {
  const u = new URL(meta.authorization_endpoint!);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    scope: 'mcp',
    state: b64url(randomBytes(8)),
    code_challenge_method: 'S256',
    ...params,
  }))
    u.searchParams.set(k, v);
  return u.href;
}

/** Authorize headlessly and return the code delivered to `redirect` (stopping before it is fetched). */
export async function getCode(authUrl: string, redirect: string, user = 'alice', jar = new CookieJar()) {
  const r = await headlessLogin({
    startUrl: authUrl,
    username: user,
    password: user,
    jar,
    stopAt: (u) => `${u.origin}${u.pathname}` === redirect,
  });
  const back = new URL(r.finalUrl);
  return { code: back.searchParams.get('code'), error: back.searchParams.get('error'), result: r, jar };
}

export async function tokenRequest(meta: Record<string, string>, body: Record<string, string>) {
  const res = await fetch(meta.token_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

export interface CodeFlow {
  clientId: string;
  redirect: string;
  resource: string;
  /** Default `mcp`. */
  scope?: string;
  /** Who logs in at the IdP (default alice), in this browser (default a new one). */
  user?: string;
  jar?: CookieJar;
}

/** The whole authorization code flow with PKCE: authorize as `user`, then exchange the code (the token response). */
export async function codeFlowTokens(meta: Record<string, string>, f: CodeFlow) {
  const { verifier, challenge } = pkce();
  const params = { client_id: f.clientId, redirect_uri: f.redirect, code_challenge: challenge, resource: f.resource };
  const { code, error } = await getCode(
    authorizeUrl(meta, { ...params, scope: f.scope ?? 'mcp' }),
    f.redirect,
    f.user,
    f.jar,
  );
  if (!code) throw new Error(`authorization refused: ${error}`);
  const exchange = { grant_type: 'authorization_code', code, code_verifier: verifier };
  return tokenRequest(meta, { ...exchange, client_id: f.clientId, redirect_uri: f.redirect, resource: f.resource });
}
