/**
 * The indexes the authorization server's adapter keeps for the admin console (authz-server/registry.ts),
 * on the memory store through oidc-provider's adapter interface: registered clients, metadata-document
 * clients listed while they hold grants, grants by user and by client, and what a deletion removes.
 */
import t from 'tap';
import { storeAdapter } from '../../src/authz-server/adapter.js';
import { AsRegistry } from '../../src/authz-server/registry.js';
import { MemoryStore } from '../../src/store/memory.js';

const CIMD = 'https://app.example.com/client.json';

t.test('clients and grants listed and revoked through the indexes', async (t) => {
  const store = new MemoryStore();
  const Adapter = storeAdapter(store);
  const clients = new Adapter('Client');
  const grants = new Adapter('Grant');
  const tokens = new Adapter('RefreshToken');
  await clients.upsert('dcr-1', { client_id: 'dcr-1', client_name: 'One', redirect_uris: ['http://127.0.0.1/cb'] }, 0);
  await clients.upsert('dcr-2', { client_id: 'dcr-2' }, 0);
  await clients.upsert('dcr-1', { client_id: 'dcr-1', client_name: 'One' }, 0); // an update: listed once
  const iat = Math.floor(Date.now() / 1000);
  const grant = (clientId: string, accountId: string) => ({
    accountId,
    clientId,
    iat,
    exp: iat + 3600,
    openid: { scope: 'openid' },
    resources: { 'http://proxy/mcp': 'mcp' },
  });
  await grants.upsert('g1', grant('dcr-1', 'alice'), 3600);
  await grants.upsert('g2', grant('dcr-1', 'bob'), 3600);
  await grants.upsert('g3', grant(CIMD, 'alice'), 3600);
  await tokens.upsert('rt1', { grantId: 'g1' }, 3600);

  const revoked: string[] = [];
  const registry = new AsRegistry(store, async (gid) => void revoked.push(gid));
  t.same(
    (await registry.clients()).map((c) => [c.kind, c.client.client_id]),
    [
      ['registered', 'dcr-1'],
      ['registered', 'dcr-2'],
      ['metadataDocument', CIMD],
    ],
  );
  t.same(
    (await registry.grants({ user: 'alice' })).map((g) => g.id),
    ['g1', 'g3'],
  );
  t.same(await registry.grant('g1'), {
    id: 'g1',
    user: 'alice',
    clientId: 'dcr-1',
    scopes: ['openid', 'mcp'],
    resources: ['http://proxy/mcp'],
    createdAt: new Date(iat * 1000).toISOString(),
    expiresAt: new Date((iat + 3600) * 1000).toISOString(),
  });
  t.same(
    (await registry.grants({ clientId: 'dcr-1' })).map((g) => g.id),
    ['g1', 'g2'],
  );

  t.same(await registry.deleteClient('dcr-1'), { deleted: true, grants: 2 });
  t.same(revoked, ['g1', 'g2'], 'each grant announced');
  t.equal(await tokens.find('rt1'), undefined, "the grant's refresh token is gone");
  t.equal(await clients.find('dcr-1'), undefined, 'the registration is gone');
  t.same(
    (await registry.clients()).map((c) => c.client.client_id),
    ['dcr-2', CIMD],
  );

  t.equal(await registry.deleteGrant('g3'), true);
  t.equal(await registry.deleteGrant('g3'), false, 'a grant deleted twice: not found');
  t.same(
    (await registry.clients()).map((c) => c.client.client_id),
    ['dcr-2'],
    'a metadata-document client without grants is no longer listed',
  );
  t.same(await registry.deleteClient('nope'), { deleted: false, grants: 0 });
});
