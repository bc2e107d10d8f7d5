// CORS for browser MCP clients (Inspector) and the authorization server's settings.
import t from 'tap';
import { startStack } from '../helpers/stack.js';

const INSPECTOR = 'http://localhost:6274';
const stack = await startStack({
  consent: false,
  proxy: { server: { allowedOrigins: [INSPECTOR] }, authorizationServer: { registration: 'off' } },
});
t.teardown(() => stack.close());
const { proxy } = stack;

t.test('an allowed browser origin gets CORS on /mcp, with the MCP headers exposed', async (t) => {
  const pre = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'OPTIONS',
    headers: {
      origin: INSPECTOR,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, mcp-protocol-version, mcp-session-id, content-type',
    },
  });
  t.ok(pre.status < 300, `preflight ${pre.status}`);
  t.equal(pre.headers.get('access-control-allow-origin'), INSPECTOR);
  const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase();
  for (const h of ['authorization', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id']) t.match(allowed, h);
  const res = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'POST',
    headers: { origin: INSPECTOR, 'content-type': 'application/json' },
    body: '{}',
  });
  t.equal(res.status, 401);
  t.equal(res.headers.get('access-control-allow-origin'), INSPECTOR);
  const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
  t.match(exposed, 'mcp-session-id');
  t.match(exposed, 'www-authenticate');
});

t.test('a foreign origin is refused with 403 and no CORS grant', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
  });
  t.equal(res.status, 403);
  t.equal(res.headers.get('access-control-allow-origin'), null);
});

t.test('registration: off removes dynamic client registration', async (t) => {
  const meta = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    unknown
  >;
  t.equal(meta.registration_endpoint, undefined);
  const res = await fetch(`${proxy.url}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"redirect_uris":["http://127.0.0.1:1/cb"]}',
  });
  t.equal(res.status, 404);
});
