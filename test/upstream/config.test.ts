// `backends[].upstream`: the two implemented kinds validate with their defaults; `kind: oauth`
// is reserved and refused with a clear problem, collected with every other problem.
import t from 'tap';
import { loadConfig } from '../../src/app/config.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const oidc = { issuer: 'https://dev-1.okta.com/oauth2/default', clientId: 'abc', clientSecret: 's3cret' };
const load = (backends: unknown[], extra: Record<string, unknown> = { oidc }) =>
  loadConfig({ doc: { session: { keys: [KEY] }, backends, ...extra }, env: {} });
const http = { url: 'http://127.0.0.1:9000/mcp' };

t.test('tokenExchange and clientCredentials with their defaults', async (t) => {
  const { config, problems } = load([
    { name: 'crm', http, upstream: { kind: 'tokenExchange', audience: 'api://crm', scopes: ['crm.read'] } },
    {
      name: 'reports',
      http,
      upstream: {
        kind: 'clientCredentials',
        tokenEndpoint: 'https://idp.example.com/token',
        clientId: 'r',
        clientSecret: 's',
      },
    },
  ]);
  t.same(problems, []);
  t.same(config!.backends[0]!.upstream, {
    kind: 'tokenExchange',
    audience: 'api://crm',
    scopes: ['crm.read'],
    subjectToken: 'access_token',
  });
  t.same(config!.backends[1]!.upstream, {
    kind: 'clientCredentials',
    tokenEndpoint: 'https://idp.example.com/token',
    clientId: 'r',
    clientSecret: 's',
    scopes: [],
  });
});

t.test('every upstream problem is collected, with the others', async (t) => {
  const { config, problems } = load([
    { name: 'gh', http, upstream: { kind: 'oauth', scopes: ['repo'], clientSecret: 'x' } },
    { name: 'bad name!', http },
    { name: 'jira', stdio: { command: 'jira-mcp' }, upstream: { kind: 'tokenExchange' } },
    { name: 'both', http, forwardAccessToken: true, upstream: { kind: 'tokenExchange' } },
    {
      name: 'plain',
      http,
      upstream: {
        kind: 'clientCredentials',
        tokenEndpoint: 'http://idp.example.com/token',
        clientId: 'a',
        clientSecret: 'b',
      },
    },
    { name: 'nosecret', http, upstream: { kind: 'tokenExchange', clientId: 'other' } },
    { name: 'what', http, upstream: { kind: 'magic' } },
    { name: 'cc', http, upstream: { kind: 'clientCredentials', clientId: 'a' } },
  ]);
  t.equal(config, undefined);
  const text = problems.join('\n');
  t.match(text, /backends\[0\]\.upstream\.clientId.*needs its clientId/);
  t.match(text, /backends\[1\]\.name/, 'other problems are collected too');
  t.match(text, /backends\[2\]\.upstream\.env.*backend "jira".*needs env/);
  t.match(text, /backends\[3\]\.forwardAccessToken.*choose one/);
  t.match(text, /backends\[4\]\.upstream\.tokenEndpoint.*plain-http/);
  t.match(text, /backends\[5\]\.upstream\.clientSecret/);
  t.match(text, /backends\[6\]\.upstream/);
  t.match(text, /backends\[7\]\.upstream\.tokenEndpoint/);
});

t.test('kind oauth: a remote MCP server needs nothing more; bad combinations are named', async (t) => {
  const ok = load([
    { name: 'gh', http, upstream: { kind: 'oauth', scopes: ['repo'] } },
    {
      name: 'own',
      http,
      upstream: { kind: 'oauth', issuer: 'https://as.example.com', clientId: 'c', clientSecret: 's', resource: 'r' },
    },
  ]);
  t.same(ok.problems, []);
  t.same(ok.config!.backends[0]!.upstream, { kind: 'oauth', scopes: ['repo'] });
  const { problems } = load([
    { name: 'a', stdio: { command: 'jira-mcp' }, upstream: { kind: 'oauth', env: 'JIRA_TOKEN' } },
    { name: 'b', http, upstream: { kind: 'oauth', env: 'TOKEN' } },
    { name: 'c', http, upstream: { kind: 'oauth', issuer: 'http://as.example.com' } },
    { name: 'd', http, upstream: { kind: 'oauth', clientId: 'x', tokenEndpointAuthMethod: 'client_secret_post' } },
    { name: 'e', http, upstream: { kind: 'oauth', clientId: 'x', clientSecret: 'y', tokenEndpointAuthMethod: 'none' } },
    { name: 'f', http, upstream: { kind: 'oauth', tokenEndpointAuthMethod: 'none' } },
    { name: 'g', http, upstream: { kind: 'oauth', tokenEndpoint: 'https://as.example.com/token' } },
  ]);
  const text = problems.join('\n');
  t.match(text, /backends\[0\]\.upstream\.issuer.*needs "issuer"/);
  t.match(text, /backends\[1\]\.upstream\.env.*is for stdio backends/);
  t.match(text, /backends\[2\]\.upstream\.issuer.*plain-http issuer/);
  t.match(text, /backends\[3\]\.upstream\.clientSecret.*needs a clientSecret/);
  t.match(text, /backends\[4\]\.upstream\.clientSecret.*takes no clientSecret/);
  t.match(text, /backends\[5\]\.upstream\.tokenEndpointAuthMethod.*configured clientId/);
  t.match(text, /backends\[6\]\.upstream/, 'unknown keys are refused');
});

t.test('tokenExchange without oidc needs its own token endpoint and client', async (t) => {
  const { problems } = load([{ name: 'crm', http, upstream: { kind: 'tokenExchange' } }], {
    apiKeys: [{ name: 'k', sha256: 'a'.repeat(64), subject: 'k' }],
  });
  t.match(problems.join('\n'), /backends\[0\]\.upstream.*tokenExchange needs the oidc section/);
});
