// The SSRF address table (src/lib/net.ts): special-use literals refused, public ones not.
import t from 'tap';
import { guardedFetch, isLoopbackHost, isSpecialUseAddress } from '../../src/lib/net.js';
import { connectionCounter } from '../helpers/hostile-tokens.js';

const REFUSED = [
  '127.0.0.1',
  '0.1.2.3',
  '10.1.2.3',
  '100.100.100.200',
  '169.254.169.254',
  '172.31.255.255',
  '192.0.0.1',
  '192.0.2.1',
  '192.168.1.1',
  '198.19.0.1',
  '198.51.100.7',
  '203.0.113.9',
  '224.0.0.1',
  '255.255.255.255',
  '[::]',
  '[::1]',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[::ffff:8.8.8.8]',
  '[::7f00:1]',
  '[64:ff9b::a9fe:a9fe]',
  '[2002:a9fe:a9fe::]',
  '[2001:db8::1]',
  '[2001:1ff::1]',
  '[fd00:ec2::254]',
  '[fe80::1]',
  '[ff02::1]',
  '[zz::1]',
];
const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '198.20.0.1',
  '100.128.0.1',
  '[2606:4700::1111]',
  '[2001:4860::8888]',
  'example.com',
  'mcp.example.com',
];

t.test('special-use literals are refused', async (t) => {
  for (const a of REFUSED) t.equal(isSpecialUseAddress(a), true, a);
});
t.test('public addresses and names are not (names are checked after resolution)', async (t) => {
  for (const a of ALLOWED) t.equal(isSpecialUseAddress(a), false, a);
});
t.test('loopback names, with case and a trailing dot', async (t) => {
  for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'mcp.localhost', '127.0.0.2', '[::1]'])
    t.equal(isLoopbackHost(h), true, h);
  for (const h of ['localhost.evil.example', '128.0.0.1', 'example.com']) t.equal(isLoopbackHost(h), false, h);
});

t.test(
  'guardedFetch refuses special-use addresses before connecting: a loopback listener never sees a TCP connection',
  async (t) => {
    const listener = await connectionCounter('127.0.0.1');
    t.teardown(() => listener.close());
    for (const url of [
      `http://localhost:${listener.port}/jwks`,
      `https://localhost:${listener.port}/jwks`,
      `http://127.0.0.1:${listener.port}/jwks`,
      `http://[::ffff:127.0.0.1]:${listener.port}/jwks`,
    ]) {
      await t.rejects(guardedFetch(url), { cause: { code: 'ESPECIALUSE' } }, url);
    }
    t.equal(listener.connections, 0, 'no connection was accepted');
    await fetch(`http://localhost:${listener.port}/`).catch(() => undefined);
    t.equal(listener.connections, 1, 'control: an unguarded fetch does reach the listener');
  },
);
