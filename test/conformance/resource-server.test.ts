// What the MCP conformance suite's client auth scenarios expect of a resource server (its reference
// server: scenarios/client/auth/helpers/createServer.ts with the SDK's requireBearerAuth, and the
// scope, step-up, resource-mismatch and metadata-issuer scenarios), checked against the proxy's /mcp
// endpoints with the SDK client's own discovery and parsing — the SDK client passes that suite.
import t from 'tap';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { checkResourceAllowed } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { connectWithOAuth, MemoryOAuthProvider } from '../helpers/oauth-client.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { INITIALIZE } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

// One backend (so `/mcp` is its default too) whose delete_* tools need the step-up scope tickets:delete.
const stack = await startStack({
  consent: false,
  backends: (url) => [
    { name: 'tickets', http: { url }, tools: [{ match: 'delete_*', scopes: ['tickets:delete'] }, { match: '*' }] },
  ],
});
t.teardown(() => stack.close());
const { proxy } = stack;
const PATHS = ['/mcp/tickets', '/mcp'];
const prmUrl = (path: string) => `${proxy.url}/.well-known/oauth-protected-resource${path}`;
const post = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: INITIALIZE,
  });

t.test('no token: 401 with a Bearer challenge naming the resource metadata and the scope to ask for', async (t) => {
  for (const path of PATHS) {
    const res = await post(path);
    t.equal(res.status, 401, `${path}: 401`);
    const www = extractWWWAuthenticateParams(res);
    t.equal(www.resourceMetadataUrl?.href, prmUrl(path), `${path}: resource_metadata is the path-based PRM URL`);
    // SEP-835: the client asks for the challenge's scope first, so step-up scopes are not requested up front.
    t.equal(www.scope, 'mcp', `${path}: scope="mcp"`);
    t.match(await res.json(), { error: { message: 'authentication required' } }, `${path}: a JSON-RPC error body`);
  }
});

t.test('RFC 9728 metadata: resource is the URL the client used, its AS is this issuer', async (t) => {
  for (const path of PATHS) {
    const serverUrl = `${proxy.url}${path}`;
    const prm = await discoverOAuthProtectedResourceMetadata(serverUrl, { resourceMetadataUrl: prmUrl(path) });
    t.equal(prm.resource, serverUrl, `${path}: resource`);
    // auth/resource-mismatch: the client refuses a PRM whose resource does not cover the server URL.
    t.ok(checkResourceAllowed({ requestedResource: serverUrl, configuredResource: prm.resource }), `${path}: allowed`);
    t.same(prm.authorization_servers, [proxy.url], `${path}: authorization_servers`);
    t.same(prm.scopes_supported, ['mcp', 'tickets:delete'], `${path}: scopes_supported`);
    // The SDK finds the same metadata at the path-less well-known URL (the client's first try).
    const bare = await discoverOAuthProtectedResourceMetadata(serverUrl);
    t.equal(bare.resource, serverUrl, `${path}: found without the challenge too`);
  }
  const as = await discoverAuthorizationServerMetadata(proxy.url);
  // auth/metadata-issuer-mismatch: issuer must equal the URL in authorization_servers (RFC 8414 §3.3).
  t.equal(as?.issuer, proxy.url, 'AS issuer = authorization_servers[0]');
  t.same(as?.code_challenge_methods_supported, ['S256'], 'PKCE S256 advertised (clients refuse to proceed without)');
  t.equal(as?.client_id_metadata_document_supported, true, 'CIMD advertised (auth/basic-cimd)');
  t.ok(as?.token_endpoint_auth_methods_supported?.includes('none'), 'public clients (auth/token-endpoint-auth-none)');
  t.ok(as?.registration_endpoint, 'DCR advertised');
  t.equal(
    (as as Record<string, unknown> | undefined)?.authorization_response_iss_parameter_supported,
    true,
    'RFC 9207 iss advertised (auth/iss-supported)',
  );
});

t.test('bad tokens: 401 invalid_token with the challenge; a token is bound to its resource', async (t) => {
  const { meta, client } = await register(proxy.url);
  const redirect = 'http://127.0.0.1:33418/callback';
  const tok = await codeFlowTokens(meta, {
    clientId: client.client_id,
    redirect,
    resource: `${proxy.url}/mcp/tickets`,
  });
  t.equal((await post('/mcp/tickets', { authorization: `Bearer ${tok.body.access_token}` })).status, 200, 'baseline');
  for (const [label, path, token] of [
    ['garbage', '/mcp/tickets', 'abc.def.ghi'],
    ['a token for /mcp/tickets at /mcp', '/mcp', tok.body.access_token!],
  ] as const) {
    const res = await post(path, { authorization: `Bearer ${token}` });
    t.equal(res.status, 401, `${label}: 401`);
    const www = extractWWWAuthenticateParams(res);
    t.equal(www.error, 'invalid_token', `${label}: error="invalid_token"`);
    t.equal(www.resourceMetadataUrl?.href, prmUrl(path), `${label}: resource_metadata`);
  }
});

/**
 * A client holding no refresh token, like the suite's step-up scenario (its AS issues none): SDK 1.32 answers
 * a 403 by refreshing when it has a refresh token, which cannot widen the scope (client-side limitation).
 */
class NoRefreshProvider extends MemoryOAuthProvider {
  override saveTokens(tokens: OAuthTokens) {
    super.saveTokens({ ...tokens, refresh_token: undefined });
  }
}

t.test('step-up with the real SDK client: scope from the 401, then 403 insufficient_scope, re-authorize', async (t) => {
  const jar = new CookieJar();
  const url = new URL(`${proxy.url}/mcp/tickets`);
  const user = { username: 'alice', password: 'alice', jar };
  const { client, provider } = await connectWithOAuth(url.href, user, new NoRefreshProvider());
  t.teardown(() => client.close());
  t.equal(provider.authUrl?.searchParams.get('scope'), 'mcp', 'the first authorization asks for the challenge scope');
  t.equal(provider.saved?.scope, 'mcp', 'and gets it');
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'fine' } });
  t.match(JSON.stringify(echo), 'fine', 'an ordinary tool works');
  provider.authUrl = undefined;
  // delete_* needs tickets:delete: the proxy answers 403 insufficient_scope, the SDK re-authorizes with that scope.
  await t.rejects(client.callTool({ name: 'delete_everything', arguments: {} }), { message: /^Unauthorized/ });
  const stepUp = provider.authUrl as URL | undefined;
  t.equal(stepUp?.searchParams.get('scope'), 'mcp tickets:delete', 'the step-up asks for the challenged scope');
  const login = await headlessLogin({
    startUrl: stepUp!.href,
    ...user,
    stopAt: (u) => `${u.origin}${u.pathname}` === provider.redirect,
  });
  const code = new URL(login.finalUrl).searchParams.get('code');
  t.ok(code, `a code at the redirect URI (${login.finalUrl})`);
  await new StreamableHTTPClientTransport(url, { authProvider: provider }).finishAuth(code!);
  t.equal(provider.saved?.scope, 'mcp tickets:delete', 'the new token carries tickets:delete');
  const done = await client.callTool({ name: 'delete_everything', arguments: {} });
  t.match(JSON.stringify(done), 'nothing deleted', 'the same client, stepped up, reaches the backend');
});
