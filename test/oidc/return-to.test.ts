import t from 'tap';
import { safeReturnTo } from '../../src/oidc/return-to.js';

t.test('same-origin paths are kept', async (t) => {
  t.equal(safeReturnTo('/'), '/');
  t.equal(safeReturnTo('/mcp/tickets?x=1#h'), '/mcp/tickets?x=1#h');
  t.equal(safeReturnTo('/a/b'), '/a/b');
});

t.test('anything that could leave the origin falls back to /', async (t) => {
  for (const evil of [
    '//evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    'https://evil.com',
    'http:evil.com',
    'javascript:alert(1)',
    '%2F%2Fevil.com',
    '/%2F/evil.com',
    '%252F%252Fevil.com',
    '/%5Cevil.com',
    '/\tevil',
    '/%09/evil.com',
    '//%65vil.com',
    'evil.com',
    '',
    '/oauth/callback?code=x',
    undefined,
    42,
  ]) {
    t.equal(safeReturnTo(evil), '/', `refused: ${String(evil)}`);
  }
});
