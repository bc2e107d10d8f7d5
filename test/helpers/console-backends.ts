/**
 * Backends and browser steps for the web console tests: a stateless MCP server over HTTP with tools whose results
 * the explorer renders (JSON, an image, a resource link, an error), one that offers nothing, and the login and
 * screenshot steps the console tests share.
 */
import { createServer, type Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Page } from 'playwright-core';
import { z } from 'zod';

/** A w×h PNG of a diagonal gradient (no image library needed). */
export function gradientPng(w = 64, h = 48): string {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) rows.set([(x * 255) / w, (y * 255) / h, 200], y * (w * 3 + 1) + 1 + x * 3);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return png.toString('base64');
}

/** Tools whose results exercise the explorer's rendering; `lookup` has a required field. */
function richServer(): McpServer {
  const s = new McpServer({ name: 'rich', version: '1.0.0' });
  s.registerTool(
    'lookup',
    {
      title: 'Weather lookup',
      description: 'A forecast for a city, as structured content.',
      inputSchema: { city: z.string().describe('City name'), days: z.number().int().optional() },
    },
    async ({ city, days }) => {
      const forecast = { city, days: days ?? 1, today: { high: 21, low: 12, sky: 'clear' }, tags: ['demo', 'json'] };
      return { content: [{ type: 'text', text: JSON.stringify(forecast) }], structuredContent: forecast };
    },
  );
  s.registerTool('picture', { description: 'An image result.' }, async () => ({
    content: [{ type: 'image', data: gradientPng(), mimeType: 'image/png' }],
  }));
  s.registerTool('link', { description: 'A resource link.' }, async () => ({
    content: [
      { type: 'text', text: 'See the report:' },
      { type: 'resource_link', uri: 'https://example.com/report.pdf', name: 'report.pdf', mimeType: 'application/pdf' },
    ],
  }));
  s.registerTool('broken', { description: 'Always reports an error.' }, async () => ({
    content: [{ type: 'text', text: 'the tool failed on purpose' }],
    isError: true,
  }));
  return s;
}

/** A server that offers no tools, resources or prompts (no capability for any). */
const emptyServer = () => new McpServer({ name: 'empty', version: '1.0.0' });

/**
 * A stateless streamable HTTP MCP server (one McpServer per POST) at `<url>` (on `listenPort`, else any free
 * port); `kind` picks its offer.
 */
export async function startConsoleBackend(
  kind: 'rich' | 'empty',
  listenPort = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST') return res.writeHead(405).end();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const mcp = kind === 'rich' ? richServer() : emptyServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void mcp.close());
    await mcp.connect(transport);
    await transport.handleRequest(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((r) => server.listen(listenPort, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Log in through the test IdP's form and land on `path`. */
export async function logIn(page: Page, base: string, user: string, path: string): Promise<void> {
  await page.goto(`${base}/oauth/login?returnTo=${encodeURIComponent(path)}`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', user);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}${path}`);
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Screenshots of the page at desktop and phone widths in the light and dark themes, under
 * test-output/screenshots/<name>-<width>-<theme>.png; the paths written.
 */
export async function screenshots(page: Page, name: string, ready: () => Promise<void>): Promise<string[]> {
  await mkdir('test-output/screenshots', { recursive: true });
  const paths: string[] = [];
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate(`document.documentElement.dataset.theme = ${JSON.stringify(theme)}`);
    for (const [label, size] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(size);
      await ready();
      await page.evaluate('window.scrollTo(0, 0)');
      const path = `test-output/screenshots/${name}-${label}-${theme}.png`;
      await page.screenshot({ path, fullPage: true });
      paths.push(path);
    }
  }
  await page.setViewportSize(DESKTOP);
  return paths;
}
