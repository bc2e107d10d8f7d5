import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveConfigFile } from '../../src/app/config.js';
import { maskSecrets } from '../../src/config/mask.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const minimal = `
oidc: { issuer: "https://dev-1.okta.com/oauth2/default", clientId: abc, clientSecret: "\${OIDC_CLIENT_SECRET}" }
session: { keys: [${KEY}] }
backends: [{ name: tickets, http: { url: "http://127.0.0.1:9000/mcp" } }]
`;

t.test('a valid YAML file with ${VAR} interpolation, defaults and derived values', async (t) => {
  const { config, problems } = loadConfig({ file: write('ok.yaml', minimal), env: { OIDC_CLIENT_SECRET: 's3cret' } });
  t.same(problems, []);
  t.equal(config!.oidc!.clientSecret, 's3cret');
  t.equal(config!.server.publicUrl, 'http://127.0.0.1:8080');
  t.equal(config!.oidc!.redirectUri, 'http://127.0.0.1:8080/oauth/callback');
  t.equal(config!.session.maxAge, 8 * 3600_000);
  t.equal(config!.session.cookieName, 'mcp_proxy_session');
  t.equal(config!.server.bodyLimit, 4 * 1024 * 1024);
  t.ok(Object.isFrozen(config) && Object.isFrozen(config!.backends[0]), 'validated config is frozen');
});

t.test('JSON works too, and *_FILE secrets are read', async (t) => {
  const secretFile = write('secret.txt', 'from-file\n');
  const json = JSON.stringify({
    oidc: { issuer: 'https://idp.example.com', clientId: 'x', clientSecret: '${OIDC_CLIENT_SECRET}' },
    session: { keys: [KEY] },
    backends: [{ name: 'a', http: { url: 'http://127.0.0.1:1/mcp' } }],
  });
  const { config, problems } = loadConfig({
    file: write('c.json', json),
    env: { OIDC_CLIENT_SECRET_FILE: secretFile },
  });
  t.same(problems, []);
  t.equal(config!.oidc!.clientSecret, 'from-file');
});

t.test('every problem is reported at once, with its path', async (t) => {
  const bad = `
server: { port: 99999, color: blue }
session: { keys: [short] }
backends:
  - { name: a, http: { url: "ftp://x" }, extra: 1 }
  - { name: b }
  - { name: c, stdio: { command: node, idleTimeout: soon } }
`;
  const { config, problems } = loadConfig({ file: write('bad.yaml', bad), env: {} });
  t.equal(config, undefined);
  const text = problems.join('\n');
  for (const expected of [
    'server.port',
    'server.color: unknown key',
    'session.keys[0]',
    'backends[0].http.url',
    'backends[0].extra: unknown key',
    'backends[1]',
    'backends[2].stdio.idleTimeout: not a duration',
  ]) {
    t.match(text, expected, `reports ${expected}`);
  }
  t.ok(problems.length >= 7, `${problems.length} problems reported together`);
});

t.test('MCP_PROXY_* overrides, the _FILE variant, list values and unknown names', async (t) => {
  const keyFile = write('keys', `${KEY}\n`);
  const { config, problems } = loadConfig({
    file: write('ok2.yaml', minimal),
    env: {
      OIDC_CLIENT_SECRET: 's',
      MCP_PROXY_OIDC_ISSUER: 'https://other.example.com',
      MCP_PROXY_SERVER_PORT: '9090',
      MCP_PROXY_SERVER_ALLOWED_ORIGINS: 'https://a.example,https://b.example',
      MCP_PROXY_SESSION_KEYS_FILE: keyFile,
    },
  });
  t.same(problems, []);
  t.equal(config!.oidc!.issuer, 'https://other.example.com');
  t.equal(config!.server.port, 9090);
  t.same(config!.server.allowedOrigins, ['https://a.example', 'https://b.example']);
  t.same(config!.session.keys, [KEY]);
  const unknown = loadConfig({
    file: write('ok3.yaml', minimal),
    env: { OIDC_CLIENT_SECRET: 's', MCP_PROXY_NOPE: '1' },
  });
  t.match(unknown.problems.join('\n'), 'MCP_PROXY_NOPE: no config key matches');
});

t.test('Okta sample app variables (OKTA_ORG_URL, OKTA_CLIENT_ID, …)', async (t) => {
  const doc = { session: { keys: [KEY] }, backends: [{ name: 'a', http: { url: 'http://127.0.0.1:1/mcp' } }] };
  const { config, problems } = loadConfig({
    doc,
    env: {
      OKTA_ORG_URL: 'https://dev-123.okta.com/oauth2/default',
      OKTA_CLIENT_ID: 'cid',
      OKTA_CLIENT_SECRET: 'csec',
      OAUTH_REDIRECT_URI: 'https://mcp.example.com/oauth/callback',
    },
  });
  t.same(problems, []);
  t.equal(config!.oidc!.issuer, 'https://dev-123.okta.com/oauth2/default');
  t.equal(config!.oidc!.clientId, 'cid');
  t.equal(config!.oidc!.redirectUri, 'https://mcp.example.com/oauth/callback');
  t.equal(config!.server.publicUrl, 'https://mcp.example.com', 'publicUrl follows the redirect URI when not set');
});

t.test('a plain-http issuer is refused unless loopback or allowed', async (t) => {
  const doc = (issuer: string, allowInsecure = false) => ({
    oidc: { issuer, clientId: 'a', clientSecret: 'b', allowInsecure },
    session: { keys: [KEY] },
    backends: [{ name: 'a', http: { url: 'http://127.0.0.1:1/mcp' } }],
  });
  t.match(loadConfig({ doc: doc('http://idp.example.com'), env: {} }).problems.join(), 'plain-http issuer');
  t.same(loadConfig({ doc: doc('http://127.0.0.1:5556'), env: {} }).problems, []);
  t.same(loadConfig({ doc: doc('http://idp.example.com', true), env: {} }).problems, []);
});

t.test('config file lookup: --config, MCP_PROXY_CONFIG, config/proxy.yaml', async (t) => {
  t.equal(resolveConfigFile('a.yaml', {}, '/x'), '/x/a.yaml');
  t.equal(resolveConfigFile(undefined, { MCP_PROXY_CONFIG: '/etc/p.yaml' }, '/x'), '/etc/p.yaml');
  t.equal(resolveConfigFile(undefined, {}, dir), undefined);
});

t.test('secrets are masked for display', async (t) => {
  const { config } = loadConfig({ file: write('ok4.yaml', minimal), env: { OIDC_CLIENT_SECRET: 'hunter2' } });
  const shown = JSON.stringify(maskSecrets(config));
  t.notMatch(shown, 'hunter2');
  t.notMatch(shown, KEY);
  t.match(shown, '"clientId":"abc"');
});

t.test('a key replaced from the environment needs none of the file ${VARS}', async (t) => {
  const { config, problems } = loadConfig({
    file: write('ok5.yaml', minimal),
    env: { MCP_PROXY_OIDC_CLIENT_SECRET: 'direct' },
  });
  t.same(problems, []);
  t.equal(config!.oidc!.clientSecret, 'direct');
});
