// The favicon: /favicon.ico (an ICO holding a 32×32 PNG) and /favicon.svg, linked from every page,
// served without login and cached. Chromium decoding both is checked in test/web/error-pages.test.ts.
import t from 'tap';
import { FAVICON_SVG } from '../../src/web/favicon.js';
import { startProxy } from '../helpers/proxy.js';

const proxy = await startProxy({
  apiKeys: [{ name: 'k', sha256: 'a'.repeat(64), subject: 'svc:k' }],
  backends: [{ name: 'demo', http: { url: 'http://127.0.0.1:9/mcp' }, allow: { groups: ['nobody'] } }],
});
t.teardown(() => proxy.close());

t.test('/favicon.ico: no login, cached, an ICO with one 32×32 PNG', async (t) => {
  const res = await fetch(`${proxy.url}/favicon.ico`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'image/x-icon');
  t.match(res.headers.get('cache-control'), /public, max-age=\d+/);
  const ico = Buffer.from(await res.arrayBuffer());
  t.same([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)], [0, 1, 1], 'ICO header, one image');
  t.same([ico[6], ico[7], ico.readUInt16LE(12)], [32, 32, 32], '32×32, 32 bits');
  const png = ico.subarray(ico.readUInt32LE(18));
  t.equal(png.length, ico.readUInt32LE(14), 'the image is the rest of the file');
  t.same([...png.subarray(1, 4)], [...Buffer.from('PNG')], 'a PNG');
  t.equal(png.subarray(12, 16).toString(), 'IHDR');
});

t.test('/favicon.svg: no login, cached, SVG; every page links it', async (t) => {
  const res = await fetch(`${proxy.url}/favicon.svg`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^image\/svg\+xml/);
  t.match(res.headers.get('cache-control'), /max-age/);
  t.equal(await res.text(), FAVICON_SVG);
  const home = await (await fetch(`${proxy.url}/`, { headers: { accept: 'text/html' } })).text();
  t.match(home, '<link rel="icon" href="/favicon.svg" type="image/svg+xml">', 'the home page links it');
  const notFound = await (await fetch(`${proxy.url}/nope`, { headers: { accept: 'text/html' } })).text();
  t.match(notFound, 'rel="icon"', 'so do error pages');
});
