/** A relying party for the dev IdP tests: openid-client 6 plus the headless login helper. */
import * as oidc from 'openid-client';
import type { ClientMetadata } from 'oidc-provider';
import { CookieJar, headlessLogin, type HeadlessLoginResult } from '../helpers/login.js';

export const CLIENT_ID = 'test-rp';
export const CLIENT_SECRET = 'test-rp-secret-0123456789abcdef';
export const REDIRECT_URI = 'http://127.0.0.1:9/cb';
export const POST_LOGOUT_URI = 'http://127.0.0.1:9/bye';

export const rpClient: ClientMetadata = {
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};

export function discover(issuer: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface RpLogin {
  login: HeadlessLoginResult;
  /** Set when the login reached the redirect URI with a code. */
  tokens?: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
}

const atRp = (url: URL) => url.origin === new URL(REDIRECT_URI).origin;

/** Authorization code + PKCE + state + nonce through the headless browser. */
export async function rpLogin(
  config: oidc.Configuration,
  user: { username: string; password: string },
  jar = new CookieJar(),
  scope = 'openid profile email groups offline_access',
): Promise<RpLogin> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const login = await headlessLogin({ startUrl: url.href, ...user, jar, stopAt: atRp });
  if (!login.finalUrl.startsWith(REDIRECT_URI)) return { login };
  const tokens = await oidc.authorizationCodeGrant(config, new URL(login.finalUrl), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { login, tokens };
}

/** RP-initiated logout through the headless browser; stops at the post-logout URI. */
export async function rpLogout(config: oidc.Configuration, idToken: string, jar: CookieJar) {
  const url = oidc.buildEndSessionUrl(config, {
    id_token_hint: idToken,
    post_logout_redirect_uri: POST_LOGOUT_URI,
    state: 'bye-state',
  });
  return headlessLogin({ startUrl: url.href, username: '', password: '', jar, stopAt: atRp });
}
