/**
 * A real MCP SDK client doing MCP authorization through the proxy: an OAuthClientProvider
 * kept in memory, the browser part driven headlessly (upstream login, consent), the code
 * handed back with finishAuth — what Claude Code or Inspector do with a real browser.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { CookieJar, headlessLogin } from './login.js';

export class MemoryOAuthProvider implements OAuthClientProvider {
  info?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier?: string;
  authUrl?: URL;
  constructor(
    readonly redirect = 'http://127.0.0.1:33418/callback',
    readonly clientMetadataUrl?: string,
  ) {}
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Test MCP client',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier!;
  }
}

/** Connect with the SDK; on the first 401, do the browser part headlessly and finish. */
export async function connectWithOAuth(
  mcpUrl: string,
  user: { username: string; password: string; jar?: CookieJar },
  provider = new MemoryOAuthProvider(),
) {
  const jar = user.jar ?? new CookieJar();
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const probe = new Client({ name: 'oauth-test', version: '1' });
  await probe.connect(first).then(
    () => {
      throw new Error('expected the first connection to need authorization');
    },
    (e: Error) => {
      if (!/unauthorized/i.test(e.message) && e.name !== 'UnauthorizedError') throw e;
    },
  );
  if (!provider.authUrl) throw new Error('the SDK never asked to open the authorization URL');
  const login = await headlessLogin({
    startUrl: provider.authUrl.href,
    username: user.username,
    password: user.password,
    jar,
    stopAt: (u) => `${u.origin}${u.pathname}` === provider.redirect,
  });
  const back = new URL(login.finalUrl);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code at the redirect URI: ${login.finalUrl} (hops: ${login.hops.join(' | ')})`);
  await first.finishAuth(code);
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = new Client({ name: 'oauth-test', version: '1' });
  await client.connect(transport);
  return { client, transport, provider, jar, login };
}
