/**
 * Real credentials for the bench, obtained the way clients get them: a session cookie by
 * logging in through `/oauth/login` (dev IdP), a proxy-issued JWT by the OAuth flow an MCP
 * client runs (registration, PKCE, consent-free dev IdP login, token for one resource).
 */
import { loginThroughProxy } from '../../test/helpers/session-client.js';
import { authorizeUrl, getCode, pkce, register, tokenRequest } from '../../test/helpers/oauth-manual.js';

export async function sessionCookie(proxyUrl: string, user = 'alice'): Promise<string> {
  const { cookie } = await loginThroughProxy(proxyUrl, user);
  const session = cookie.split(/;\s*/).find((c) => c.startsWith('mcp_proxy_session='));
  if (!session) throw new Error('login did not give a session cookie');
  return session;
}

/** An access token whose audience is `resource` (one MCP URL of the proxy). */
export async function bearerToken(proxyUrl: string, resource: string, user = 'alice'): Promise<string> {
  const redirect = 'http://127.0.0.1:33418/callback';
  const { meta, client } = await register(proxyUrl, redirect);
  const { verifier, challenge } = pkce();
  const { code, error } = await getCode(
    authorizeUrl(meta, { client_id: client.client_id, redirect_uri: redirect, code_challenge: challenge, resource }),
    redirect,
    user,
  );
  if (!code) throw new Error(`authorization failed: ${error}`);
  const tok = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: redirect,
    resource,
  });
  if (tok.status !== 200 || !tok.body.access_token)
    throw new Error(`token request: ${tok.status} ${JSON.stringify(tok.body)}`);
  return tok.body.access_token;
}
