/**
 * The `upstream: {kind: oauth}` end-to-end stack and steps: the proxy (with its IdP, the demo
 * backend and a backend `gh` that is an OAuth-protected MCP server with its own AS, from
 * backend-as.ts), an SDK client authorized at the proxy's AS (the browser part headless) that
 * gets the URL elicitation, the browser part of connecting, and Chromium for the real browser.
 */
import type { Test } from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { startOAuthBackend, type BackendAsOptions, type OAuthBackend } from './backend-as.js';
import { CookieJar, headlessLogin } from './login.js';
import { MemoryOAuthProvider } from './oauth-client.js';
import { startStack, type Stack } from './stack.js';

export const GH = 'gh';

export interface OAuthStack extends Stack {
  gh: OAuthBackend;
  /** `<proxy>/mcp/gh` and `<proxy>/mcp/demo`. */
  ghUrl: string;
  demoUrl: string;
}

/** The backends entry of `gh`: kind oauth, client by DCR, scope read. */
export const ghBackend = (url: string) => ({ name: GH, http: { url }, upstream: { kind: 'oauth', scopes: ['read'] } });

/** IdP (with back-channel logout to the proxy), demo backend, `gh` and the proxy in front of both. */
export async function startOAuthStack(opts: { backendAs?: BackendAsOptions } = {}): Promise<OAuthStack> {
  const gh = await startOAuthBackend(opts.backendAs);
  const stack = await startStack({
    consent: false,
    backends: (demo) => [{ name: 'demo', http: { url: demo } }, ghBackend(gh.mcp.url)],
    idpClient: (publicUrl) => ({
      backchannel_logout_uri: `${publicUrl}/oauth/backchannel-logout`,
      backchannel_logout_session_required: true,
    }),
  });
  return {
    ...stack,
    gh,
    ghUrl: `${stack.proxy.url}/mcp/${GH}`,
    demoUrl: `${stack.proxy.url}/mcp/demo`,
    async close() {
      await stack.close();
      await gh.close();
    },
  };
}

/**
 * An SDK client's authorization at the proxy's AS for `mcpUrl` as `username` (the browser part
 * headless, in `jar`, which ends logged in at the proxy): the provider then holds the tokens.
 */
export async function authorizeSdk(mcpUrl: string, username: string, jar = new CookieJar()) {
  const provider = new MemoryOAuthProvider();
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const probe = new Client({ name: 'oauth-e2e', version: '1' });
  await probe.connect(transport).then(
    () => {
      throw new Error('expected the first connection to need authorization');
    },
    (e: Error) => {
      if (e.name !== 'UnauthorizedError' && !/unauthorized/i.test(e.message)) throw e;
    },
  );
  if (!provider.authUrl) throw new Error('the SDK never asked to open the authorization URL');
  const login = await headlessLogin({
    startUrl: provider.authUrl.href,
    username,
    password: username,
    jar,
    stopAt: (u) => `${u.origin}${u.pathname}` === provider.redirect,
  });
  const code = new URL(login.finalUrl).searchParams.get('code');
  if (!code) throw new Error(`no code at the redirect URI: ${login.finalUrl} (hops: ${login.hops.join(' | ')})`);
  await transport.finishAuth(code);
  return { provider, jar };
}

/** The SDK client connecting (initialize) with the proxy AS's tokens in `provider`. */
export async function sdkConnect(mcpUrl: string, provider: MemoryOAuthProvider): Promise<Client> {
  const client = new Client({ name: 'oauth-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return client;
}

export interface Elicitation {
  mode: string;
  elicitationId: string;
  url: string;
  message: string;
}

/** What `promise` rejected with, which must be the URL-elicitation error (-32042): its one elicitation. */
export async function elicitationOf(t: Test, promise: Promise<unknown>): Promise<Elicitation> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof McpError)) throw new Error(`expected an MCP error -32042, got ${String(err)}`);
  t.equal(err.code, ErrorCode.UrlElicitationRequired, `MCP error -32042 (${err.message})`);
  const list = (err.data as { elicitations?: Elicitation[] } | undefined)?.elicitations ?? [];
  t.equal(list.length, 1, 'one URL elicitation');
  t.equal(list[0]?.mode, 'url');
  return list[0]!;
}

/** The whoami of the `gh` fixture: the backend token's sub, scope and fingerprint. */
export async function ghWhoami(client: Client) {
  const r = await client.callTool({ name: 'whoami', arguments: {} });
  return r.structuredContent as { sub: string; scope: string; fingerprint: string; clientId: string };
}

/** The browser part of connecting, headless: open `url` with `jar` (logged in at the proxy), log in and consent. */
export async function connectHeadless(url: string, username: string, jar: CookieJar) {
  return headlessLogin({ startUrl: url, username, password: username, jar });
}

/** GET /api/connections with a cookie. */
export async function connectionsOf(proxyUrl: string, cookie: string) {
  const res = await fetch(`${proxyUrl}/api/connections`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`/api/connections: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    connections: Array<{ backend: string; kind: string; connected: boolean; scopes: string[]; expiresAt: string }>;
  };
  return body.connections;
}

/** Whether the user of `cookie` is connected to `gh`. */
export const ghConnected = async (proxyUrl: string, cookie: string) =>
  (await connectionsOf(proxyUrl, cookie)).find((c) => c.backend === GH)?.connected;

/** DELETE /api/connections/:backend as the home page does (the session's CSRF token, same-origin). */
export async function disconnect(proxyUrl: string, cookie: string, backend = GH, origin = proxyUrl) {
  const status = (await (await fetch(`${proxyUrl}/oauth/status`, { headers: { cookie } })).json()) as {
    csrfToken?: string;
  };
  return fetch(`${proxyUrl}/api/connections/${backend}`, {
    method: 'DELETE',
    headers: { cookie, origin, 'x-csrf-token': status.csrfToken ?? '' },
  });
}

export { launchChromium } from './chromium.js';
