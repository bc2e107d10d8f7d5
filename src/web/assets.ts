/** `GET /assets/<name>`: the console's scripts and stylesheet (src/web/assets/), read once at start; a fixed list. */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** Every file the pages load: nothing else under /assets is served. */
export const ASSETS = [
  'console.css',
  'home.css',
  'explorer.css',
  'theme.js',
  'console.js',
  'health.js',
  'connections.js',
  'explorer.js',
  'explorer-form.js',
  'explorer-result.js',
  'explorer-history.js',
  'explorer-lists.js',
  'admin.js',
  'admin.css',
];

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  for (const name of ASSETS) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)]!;
    app.get(`/assets/${name}`, async (_req, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
}
