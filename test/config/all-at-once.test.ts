// Config problems as a newcomer meets them: all in one run, in words, with "did you mean";
// and a config nobody could log in to refused.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/app/config.js';
import { suggestKey } from '../../src/config/messages.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'cfg-all-'));
const load = (yaml: string, env: Record<string, string> = {}) => {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env });
};
const apiKey = `apiKeys: [{ name: k, sha256: "${'a'.repeat(64)}", subject: k }]`;

t.test('schema problems, cross-section checks and the IdP preset are reported together', async (t) => {
  const { config, problems } = load(`
server: { port: 99999 }
oidc: { issuer: "https://dev-1.okta.com/oauth2/default/", clientId: abc, scope: [openid] }
session: { keys: [${KEY}] }
store: { kind: redis }
backends:
  - { name: a, http: { url: "http://127.0.0.1:1/mcp", transport: grpc } }
  - { name: a, stdio: { command: node } }
`);
  t.equal(config, undefined);
  t.same(problems, [
    'server.port: must be at most 65535',
    'oidc.scope: unknown key; did you mean `scopes`?',
    'backends[0].http.transport: expected one of streamable, sse, auto, got "grpc"',
    // These used to appear only after the schema's problems were fixed:
    'backends[1].name: duplicate backend name "a"',
    'oidc.clientSecret: the proxy is a confidential client: clientSecret is required ' +
      '(or OIDC_CLIENT_SECRET / --client-secret-file)',
    'store.url: store "redis" needs a url',
    'oidc.issuer: an Okta issuer is https://<org>.okta.com (org authorization server) or ' +
      'https://<org>.okta.com/oauth2/<server id> (custom, e.g. /oauth2/default), without a trailing slash',
  ]);
});

t.test('a backend with a broken field still gets its own checks', async (t) => {
  const { problems } = load(`
${apiKey}
session: { keys: [${KEY}] }
backends:
  - { name: a, http: { url: "http://127.0.0.1:1/mcp", timeout: soon }, stdio: { command: node } }
`);
  t.same(problems, [
    'backends[0].http.timeout: not a duration: "soon" (use e.g. 30s, 10m, 8h, 30d)',
    'backends[0]: a backend needs exactly one of "http" or "stdio"',
  ]);
});

t.test('one unset ${VAR} is one message naming the variable and the key', async (t) => {
  const { problems } = load(`
oidc: { issuer: "https://idp.example.com", clientId: abc, clientSecret: "\${OIDC_CLIENT_SECRET}" }
session: { keys: ["\${SESSION_KEY}"] }
backends: [{ name: a, http: { url: "\${BACKEND_URL}" } }]
`);
  t.same(problems, [
    'oidc.clientSecret: environment variable OIDC_CLIENT_SECRET is not set',
    'session.keys[0]: environment variable SESSION_KEY is not set',
    'backends[0].http.url: environment variable BACKEND_URL is not set',
  ]);
  const set = load(
    `
oidc: { issuer: "https://idp.example.com", clientId: abc, clientSecret: "\${OIDC_CLIENT_SECRET}" }
session: { keys: [${KEY}] }
backends: [{ name: a, http: { url: "\${BACKEND_URL}" } }]
`,
    { OIDC_CLIENT_SECRET: 's', BACKEND_URL: 'http://127.0.0.1:1/mcp' },
  );
  t.same(set.problems, []);
});

t.test('messages are words, one line each with the key path: no raw zod', async (t) => {
  const { problems } = load(`
${apiKey}
server: { host: 5, trustProxy: [1] }
session: { keys: [] }
backends:
  - { name: a, http: {} }
  - { name: b, stdio: { command: node, idleTimeout: true, isolation: team } }
  - { name: c, http: { url: "http://127.0.0.1:1/mcp" }, upstream: { kind: magic } }
  - 7
`);
  t.same(problems, [
    'server.host: expected a string, got 5',
    'server.trustProxy: expected a boolean or a string or a number, got a list',
    'session.keys: at least one session key is required',
    'backends[0].http.url: required',
    'backends[1].stdio.isolation: expected one of session, user, shared, got "team"',
    'backends[1].stdio.idleTimeout: expected a string or a number, got true',
    'backends[2].upstream.kind: expected one of tokenExchange, clientCredentials, oauth',
    'backends[3]: expected a mapping, got 7',
  ]);
  t.notMatch(problems.join('\n'), /Invalid input|received|Unrecognized/);
});

t.test('an unknown key names the known key it most likely meant, on the same line', async (t) => {
  const { problems } = load(`
${apiKey}
server: { publicURL: "http://127.0.0.1:8080", colour: blue }
session: { keys: [${KEY}], max_age: 8h }
backend:
  - { name: a, stdio: { comand: node } }
`);
  t.same(problems, [
    'server.publicURL: unknown key; did you mean `publicUrl`?',
    'server.colour: unknown key',
    'session.max_age: unknown key; did you mean `maxAge`?',
    'backends: required',
    'backend: unknown key; did you mean `backends`?',
  ]);
  const nested = load(`
${apiKey}
session: { keys: [${KEY}] }
backends:
  - { name: a, stdio: { comand: node }, upstream: { kind: oauth, isuer: "https://as.example.com", env: T } }
`);
  t.match(nested.problems.join('\n'), 'backends[0].stdio.comand: unknown key; did you mean `command`?');
  t.match(nested.problems.join('\n'), 'backends[0].upstream.isuer: unknown key; did you mean `issuer`?');
});

t.test('suggestions: case, separators and near spellings; nothing for far ones', async (t) => {
  const known = ['backends', 'server', 'session', 'oidc', 'apiKeys', 'devIdp', 'externalTokens'];
  t.equal(suggestKey('backend', known), 'backends');
  t.equal(suggestKey('api_keys', known), 'apiKeys');
  t.equal(suggestKey('DEVIDP', known), 'devIdp');
  t.equal(suggestKey('sever', known), 'server');
  t.equal(suggestKey('external_token', known), 'externalTokens');
  t.equal(suggestKey('database', known), undefined);
  t.equal(suggestKey('x', known), undefined);
});

t.test('a config nobody could authenticate to is refused; each way in is enough', async (t) => {
  const base = `session: { keys: [${KEY}] }\nbackends: [{ name: a, http: { url: "http://127.0.0.1:1/mcp" } }]\n`;
  const refused = load(base);
  t.equal(refused.config, undefined);
  t.same(refused.problems, [
    'nobody can authenticate: configure oidc, devIdp (enabled: true), apiKeys, ' +
      'externalTokens (jwt or introspection), clientCertificates or authorizationServer.clients',
  ]);
  t.match(
    load(
      `${base}devIdp: { enabled: false }\napiKeys: []\nexternalTokens: {}\nclientCertificates: []\n`,
    ).problems.join(),
    'nobody',
  );
  const ways: Record<string, string> = {
    oidc: 'oidc: { issuer: "https://idp.example.com", clientId: a, clientSecret: b }',
    devIdp: 'devIdp: { enabled: true }',
    apiKeys: apiKey,
    'externalTokens.jwt': 'externalTokens: { jwt: [{ issuer: "https://idp.example.com" }] }',
    'externalTokens.introspection':
      'externalTokens: { introspection: { endpoint: "https://idp.example.com/introspect", ' +
      'clientId: a, clientSecret: b } }',
    clientCertificates:
      'server: { tls: { cert: c.pem, key: k.pem, clientCa: ca.pem } }\n' +
      `clientCertificates: [{ name: batch, sha256: "${'AB:'.repeat(31)}AB", subject: svc:batch }]`,
    'authorizationServer.clients':
      'devIdp: { enabled: true }\n' +
      'authorizationServer: { clients: [{ clientId: ci, clientSecret: "0123456789abcdef", scopes: [mcp] }] }',
  };
  for (const [way, yaml] of Object.entries(ways)) {
    const r = load(`${base}${yaml}\n`);
    t.same(r.problems, [], way);
    t.ok(r.config, `${way}: loaded`);
  }
  const broken = load(`${base}oidc: { issuer: nope, clientId: a, clientSecret: b }\n`);
  t.same(broken.problems, ['oidc.issuer: must be an http(s) URL'], 'a broken way in is reported as itself');
});

t.test('an MCP_PROXY_* variable that matches no key names the one it most likely meant', async (t) => {
  const { problems } = load(
    `${apiKey}\nsession: { keys: [${KEY}] }\nbackends: [{ name: a, stdio: { command: node } }]\n`,
    {
      MCP_PROXY_SERVER_PUBLICURL: 'http://localhost:8080',
      MCP_PROXY_NOTHING_LIKE_IT: '1',
    },
  );
  t.same(problems, [
    'MCP_PROXY_SERVER_PUBLICURL: no config key matches this environment variable; ' +
      'did you mean `MCP_PROXY_SERVER_PUBLIC_URL`?',
    'MCP_PROXY_NOTHING_LIKE_IT: no config key matches this environment variable',
  ]);
});
