import { asMetadata, authorizeUrl, pkce } from '../helpers/oauth-manual.js';
import { startStack } from '../helpers/stack.js';
const log = (...a: unknown[]) => console.log(...a.map((x) => (Array.isArray(x) ? [x[0], String(x[1]).slice(0, 200)] : x)));
const stack = await startStack({ consent: false });
const { proxy } = stack;
const meta = await asMetadata(proxy.url);
async function reg(extra: Record<string, unknown>) {
  const res = await fetch(meta.registration_endpoint!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'x', redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none', ...extra }) });
  const txt = await res.text();
  return [res.status, txt];
}
log('js', await reg({ redirect_uris: ['javascript:alert(1)'] }));
log('data', await reg({ redirect_uris: ['data:text/html,<script>alert(1)</script>'] }));
log('1MB name', await reg({ client_name: 'x'.repeat(1024 * 1024) }));
log('40KB name', await reg({ client_name: 'x'.repeat(40 * 1024) }));
log('1000 uris', await reg({ redirect_uris: Array.from({ length: 1000 }, (_, i) => `https://app.example.com/cb${i}`) }));
log('100 uris', await reg({ redirect_uris: Array.from({ length: 100 }, (_, i) => `https://app.example.com/cb${i}`) }));
log('http web', await reg({ redirect_uris: ['http://app.example.com/cb'] }));
log('http native', await reg({ application_type: 'native', redirect_uris: ['http://app.example.com/cb'] }));
log('password', await reg({ grant_types: ['password'] }));
log('client_credentials', await reg({ grant_types: ['client_credentials'] }));
log('implicit', await reg({ grant_types: ['implicit'], response_types: ['token'] }));
log('frag', await reg({ redirect_uris: ['https://app.example.com/cb#x'] }));
log('userinfo', await reg({ redirect_uris: ['https://u:p@app.example.com/cb'] }));
log('jwks_uri loopback', await reg({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://127.0.0.1/jwks' }));
log('logo', await reg({ logo_uri: 'javascript:alert(1)' }));
log('client_uri', await reg({ client_uri: 'javascript:alert(1)' }));
log('name html', await reg({ client_name: '<script>alert(1)</script>' }));
const good = JSON.parse((await reg({ redirect_uris: ['https://app.example.com/cb', 'http://127.0.0.1:33418/callback'] }))[1] as string);
log('good', good.client_id);
for (const r of ['https://app.example.com/cb/', 'https://app.example.com/cb?x=1', 'https://app.example.com:8443/cb', 'https://evil@app.example.com/cb', 'https://app.example.com@evil.example.com/cb', 'https://app.example.com/cb#f', 'https://APP.example.com/cb', 'https://app.example.com/CB', 'https://app.example.com/cb/../cb', 'https://app.example.com/%63b', 'http://127.0.0.1:5555/callback#f', 'http://evil@127.0.0.1:5555/callback', 'http://127.0.0.1:5555/callback?x=1', 'http://localhost:5555/callback', 'http://127.0.0.1:5555/Callback', 'http://127.0.0.1:5555/callback/', 'https://127.0.0.1:5555/callback', 'http://127.0.0.1.nip.io:5555/callback','http://[::1]:5555/callback','http://127.0.0.1:5555/callback#']) {
  const res = await fetch(authorizeUrl(meta, { client_id: good.client_id, redirect_uri: r, code_challenge: pkce().challenge, resource: `${proxy.url}/mcp/demo` }), { redirect: 'manual' });
  log(r, res.status, res.headers.get('location'));
}
await stack.close();
