// The connection state shown on the home page and in the explorer for backends with `upstream`.
import t from 'tap';
import { connectionHtml, oauthBackendNames } from '../../src/web/connection-view.js';
import type { Connection } from '../../src/upstream/connections.js';

const connection: Connection = {
  accessToken: 'secret-access-token',
  refreshToken: 'secret-refresh-token',
  scopes: ['read', 'write'],
  issuer: 'http://127.0.0.1:1',
  clientId: 'c',
  connectedAt: 0,
};
const oauth = { upstream: { kind: 'oauth' as const, scopes: [] } };

t.test('oauth backend, not connected: a Connect link back to the page', async (t) => {
  const html = connectionHtml({ backend: 'git<hub>', config: oauth, controls: true, returnTo: '/explore/x y' });
  t.match(html, 'data-state="disconnected">Not connected');
  t.match(html, 'href="/connect/git%3Chub%3E?returnTo=%2Fexplore%2Fx%20y"', 'URL-encoded path and returnTo');
  t.notMatch(html, '<hub>', 'the name is escaped');
  t.notMatch(connectionHtml({ backend: 'b', config: oauth, controls: false, returnTo: '/' }), 'Connect<');
});

t.test('oauth backend, connected: scopes and a Disconnect button, never a token', async (t) => {
  const html = connectionHtml({ backend: 'gh', config: oauth, connection, controls: true, returnTo: '/' });
  t.match(html, 'data-state="connected">Connected (read write)');
  t.match(html, '<button class="secondary disconnect" type="button" id="disconnect-gh" data-backend="gh">');
  t.notMatch(html, 'secret', 'no token in the page');
  t.notMatch(connectionHtml({ backend: 'gh', config: oauth, connection, controls: false, returnTo: '/' }), 'button');
});

t.test('other kinds: automatic; no upstream: nothing', async (t) => {
  const config = { upstream: { kind: 'clientCredentials' } } as never;
  t.match(connectionHtml({ backend: 'r', config, controls: true, returnTo: '/' }), 'data-state="automatic"');
  t.equal(connectionHtml({ backend: 'r', config: {}, controls: true, returnTo: '/' }), '');
  t.same(
    oauthBackendNames([
      { name: 'a', config: oauth },
      { name: 'b', config: {} },
      { name: 'c', config },
    ]),
    ['a'],
  );
});
