/** `GET /explore/:backend`: the MCP explorer page (scripts in assets/explorer*.js, data from the REST API). */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import { Errors } from '../errors.js';
import { requirePrincipal } from '../identity/challenge.js';
import { principalKey } from '../identity/principal.js';
import type { Live } from '../live.js';
import { backendDecision } from '../policy/engine.js';
import type { Connections } from '../upstream/connections.js';
import { connectionHtml } from './connection-view.js';
import { consolePage, escapeHtml } from './html.js';
import { copyBlock } from './snippets.js';

const section = (id: string, title: string) =>
  `<section class="list-section" aria-labelledby="h-${id}"><h2 id="h-${id}">${title} ` +
  `<span class="badge count" id="count-${id}" aria-label="count"></span></h2>` +
  `<div id="${id}" class="list"></div></section>`;

const SECTIONS = section('tools', 'Tools') + section('resources', 'Resources') + section('prompts', 'Prompts');

const HISTORY =
  '<aside class="card history-panel" aria-labelledby="h-history">' +
  '<div class="card-head"><h2 id="h-history">History</h2>' +
  '<button type="button" class="secondary small" id="history-clear">Clear</button></div>' +
  '<p class="muted small">Calls made in this browser session.</p><ol id="history" class="history"></ol></aside>';

export async function explorerRoutes(
  app: FastifyInstance,
  opts: { config: Config; live: Live; connections: Connections },
) {
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
      ? `<p class="connection" id="connections" data-csrf="${escapeHtml(csrf)}">Upstream account: ${state}</p>`
      : '';
    const name = escapeHtml(b.name);
    const kind = b.config.http ? 'http' : b.config.stdio ? 'stdio' : 'virtual';
    const title = b.config.title ? `<p class="title">${escapeHtml(b.config.title)}</p>` : '';
    const description = b.config.description ? `<p class="muted">${escapeHtml(b.config.description)}</p>` : '';
    const url = `${opts.config.server.publicUrl}/mcp/${b.name}`;
    const scripts = ['console.js', 'health.js', 'explorer.js'];
    if (oauth) scripts.push('connections.js');
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return consolePage(
      `${b.name} — MCP explorer`,
      `<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a> / explorer</nav>
<nav class="jump" aria-label="On this page"><a href="#h-tools" data-section>Tools</a>
<a href="#h-resources" data-section>Resources</a> <a href="#h-prompts" data-section>Prompts</a>
<a href="#h-history">History</a></nav>
<header class="card backend explorer-head" data-backend="${name}">
<div class="card-head"><h1>MCP explorer: <code>${name}</code></h1><span class="badge kind">${kind}</span>
<span class="badge health" id="health-${name}" data-state="checking" role="status">checking…</span></div>
${title}${description}${copyBlock(`url-${b.name}`, url, `the MCP URL of ${b.name}`)}${connection}</header>
<div id="explorer-down" class="explorer-down" hidden></div>
<div id="explorer" class="explorer" data-backend="${name}" data-csrf="${escapeHtml(csrf)}">
<div class="sections">${SECTIONS}</div>
${HISTORY}</div>`,
      scripts,
      ['explorer.css'],
    );
  });
}
