// Client ID Metadata Documents: an https client_id is fetched only from public addresses.
import t from 'tap';
import { asMetadata, authorizeUrl, pkce } from '../helpers/oauth-manual.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: false });
t.teardown(() => stack.close());
const { proxy } = stack;

t.test('CIMD is advertised', async (t) => {
  const meta = (await asMetadata(proxy.url)) as Record<string, unknown>;
  t.equal(meta.client_id_metadata_document_supported, true);
});

t.test(
  'client_id URLs on loopback, link-local (cloud metadata), private or plain-http addresses are never fetched',
  async (t) => {
    const meta = await asMetadata(proxy.url);
    for (const clientId of [
      'https://127.0.0.1/client.json',
      'https://localhost:8443/client.json',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.1/client.json',
      'https://[::1]/client.json',
      'http://example.com/client.json',
    ]) {
      const started = Date.now();
      const res = await fetch(
        authorizeUrl(meta, {
          client_id: clientId,
          redirect_uri: 'http://127.0.0.1:33418/callback',
          code_challenge: pkce().challenge,
          resource: `${proxy.url}/mcp/demo`,
        }),
        { redirect: 'manual' },
      );
      const text = await res.text();
      t.equal(res.status, 400, `${clientId} refused`);
      t.match(
        text,
        clientId.startsWith('http:') ? /client is invalid/ : /fetch not allowed/,
        'refused before any connection is attempted',
      );
      t.comment(
        `${clientId}: ${text
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 160)}`,
      );
      t.notOk(res.headers.get('location'), 'no redirect to the client');
      t.ok(Date.now() - started < 5000, 'refused promptly');
    }
  },
);
