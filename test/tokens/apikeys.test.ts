/** API keys: sha256 lookup, constant-time confirmation, one principal per configured key. */
import t from 'tap';
import { ApiKeys, hashApiKey } from '../../src/tokens/apikeys.js';
import { sha256Hex } from '../../src/lib/crypto.js';

const CI_KEY = 'mk_live_ci_0123456789abcdefghijklmnop';
const OPS_KEY = 'mk_live_ops_zyxwvutsrqponmlkjihgfedcba';

const keys = [
  { name: 'ci-bot', sha256: hashApiKey(CI_KEY), subject: 'svc:ci', scopes: ['read'], groups: [] },
  {
    name: 'ops',
    sha256: hashApiKey(OPS_KEY).toUpperCase(),
    subject: 'svc:ops',
    scopes: ['read', 'write'],
    groups: ['admin'],
    email: 'ops@example.com',
    tenant: 'acme',
  },
];

t.test('hashApiKey is the sha256 hex a config holds', async (t) => {
  t.equal(hashApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

t.test('the right key gives its principal', async (t) => {
  const api = new ApiKeys(keys);
  t.equal(api.size, 2);
  t.same(api.lookup(CI_KEY), { sub: 'svc:ci', groups: [], scopes: ['read'], source: 'apikey', apiKey: 'ci-bot' });
  const ops = api.lookup(OPS_KEY);
  t.same(
    ops,
    {
      sub: 'svc:ops',
      email: 'ops@example.com',
      groups: ['admin'],
      tenant: 'acme',
      scopes: ['read', 'write'],
      source: 'apikey',
      apiKey: 'ops',
    },
    'uppercase hex in config works',
  );
  t.ok(Object.isFrozen(ops) && Object.isFrozen(ops!.groups), 'shared principal cannot be altered by a caller');
});

t.test('anything else is not a key of ours', async (t) => {
  const api = new ApiKeys(keys);
  t.equal(api.lookup(''), undefined, 'empty');
  t.equal(api.lookup('wrong'), undefined, 'wrong key');
  t.equal(api.lookup(`${CI_KEY} `), undefined, 'key with a trailing space');
  t.equal(api.lookup(CI_KEY.slice(0, -1)), undefined, 'key prefix');
  t.equal(api.lookup(hashApiKey(CI_KEY)), undefined, 'the configured hash itself is not a key');

  // A key whose digest shares the first 4 hex characters with a configured one.
  const prefix = hashApiKey(CI_KEY).slice(0, 4);
  let i = 0;
  while (!sha256Hex(`guess-${i}`).startsWith(prefix)) i += 1;
  t.equal(api.lookup(`guess-${i}`), undefined, 'a key whose hash prefix matches');
});

t.test('no keys configured, and duplicate hashes refused', async (t) => {
  t.equal(new ApiKeys([]).lookup(CI_KEY), undefined);
  t.throws(() => new ApiKeys([keys[0]!, { ...keys[0]!, name: 'copy' }]), /same sha256/);
});
