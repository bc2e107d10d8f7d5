/**
 * The favicon: `/favicon.svg` (linked from every page) and `/favicon.ico` (what browsers and
 * bookmarks ask for by themselves: the same keyhole drawn into a 32×32 PNG inside an ICO).
 * Public, no login needed, cached for a day.
 */
import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

const BLUE = [0x24, 0x56, 0xd3, 0xff];
const WHITE = [0xff, 0xff, 0xff, 0xff];
const CLEAR = [0, 0, 0, 0];

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#2456d3"/>' +
  '<circle cx="16" cy="12.5" r="5" fill="#fff"/><path d="M13 15h6l1.5 10h-9z" fill="#fff"/></svg>';

/** The SVG's shapes, sampled at a pixel's centre. */
function pixel(x: number, y: number): number[] {
  const cx = x + 0.5;
  const cy = y + 0.5;
  const r = 7;
  const corner = (px: number, py: number) => (cx - px) ** 2 + (cy - py) ** 2 > r * r;
  if ((cx < r && cy < r && corner(r, r)) || (cx > 32 - r && cy < r && corner(32 - r, r))) return CLEAR;
  if ((cx < r && cy > 32 - r && corner(r, 32 - r)) || (cx > 32 - r && cy > 32 - r && corner(32 - r, 32 - r)))
    return CLEAR;
  if ((cx - 16) ** 2 + (cy - 12.5) ** 2 <= 25) return WHITE;
  const half = 3 + ((cy - 15) / 10) * 1.5;
  if (cy >= 15 && cy <= 25 && Math.abs(cx - 16) <= half) return WHITE;
  return BLUE;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  const rows: number[] = [];
  for (let y = 0; y < size; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < size; x++) rows.push(...pixel((x * 32) / size, (y * 32) / size));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO file holding one 32×32 PNG (allowed since Windows Vista; every current browser reads it). */
export function faviconIco(): Buffer {
  const image = png(32);
  const head = Buffer.alloc(22);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(1, 2); // icon
  head.writeUInt16LE(1, 4); // one image
  head.set([32, 32, 0, 0], 6); // width, height, palette, reserved
  head.writeUInt16LE(1, 10); // planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(image.length, 14);
  head.writeUInt32LE(22, 18); // offset of the image
  return Buffer.concat([head, image]);
}

const CACHE = 'public, max-age=86400';

export async function faviconRoutes(app: FastifyInstance): Promise<void> {
  const ico = faviconIco();
  app.get('/favicon.ico', async (_req, reply) => reply.type('image/x-icon').header('cache-control', CACHE).send(ico));
  app.get('/favicon.svg', async (_req, reply) =>
    reply.type('image/svg+xml').header('cache-control', CACHE).send(FAVICON_SVG),
  );
}
