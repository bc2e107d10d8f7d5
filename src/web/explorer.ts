/** `GET /explore/:backend`: the MCP explorer page (script in assets/explorer.js, data from the REST API). */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Live } from '../live.js';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { requirePrincipal } from '../identity/challenge.js';
import { backendDecision } from '../policy/engine.js';
import { escapeHtml, page } from './html.js';
import { principalKey } from '../identity/principal.js';
import type { Connections } from '../upstream/connections.js';
import { connectionHtml } from './connection-view.js';

const SCRIPT = readFileSync(new URL('./assets/explorer.js', import.meta.url), 'utf8');
const SECTIONS =
  '<h2>Tools</h2><div id="tools"></div><h2>Resources</h2><div id="resources"></div>' +
  '<h2>Prompts</h2><div id="prompts"></div>';

export async function explorerRoutes(
  app: FastifyInstance,
  opts: { config: Config; live: Live; connections: Connections },
) {
  app.get('/assets/explorer.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT),
  );
  app.get<{ Params: { backend: string } }>('/explore/:backend', async (req, reply) => {
    const p = requirePrincipal(req, reply, opts.config.server.publicUrl);
    if (!p) return reply;
    const b = opts.live.current.backends.get(req.params.backend);
    if (!backendDecision(p, b.config).allow) throw new Errors.FORBIDDEN(`you may not use backend "${b.name}"`);
    const csrf = req.session.get('user')?.csrf ?? '';
    const oauth = b.config.upstream?.kind === 'oauth';
    const state = connectionHtml({
      backend: b.name,
      config: b.config,
      connection: oauth ? await opts.connections.get(principalKey(p), b.name) : undefined,
      controls: p.source === 'session',
      returnTo: `/explore/${encodeURIComponent(b.name)}`,
    });
    const connection = state
      ? `<p class="card" id="connections" data-csrf="${escapeHtml(csrf)}">Upstream: ${state}</p>` +
        (oauth ? '<script src="/assets/connections.js"></script>' : '')
      : '';
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return page(
      `${b.name} — MCP explorer`,
      `<p><a href="/">← Home</a></p><h1>MCP explorer: <code>${escapeHtml(b.name)}</code></h1>
<p class="muted">${escapeHtml(b.config.description ?? '')}</p>${connection}
<div id="explorer" data-backend="${escapeHtml(b.name)}" data-csrf="${escapeHtml(csrf)}">
${SECTIONS}</div>
<script src="/assets/explorer.js"></script>`,
    );
  });
}
