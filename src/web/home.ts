/** `GET /`: who am I, log in / log out, and a card per backend (health, connection, MCP URL, client snippets). */
import type { FastifyInstance } from 'fastify';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/load.js';
import type { Principal } from '../identity/principal.js';
import { principalKey } from '../identity/principal.js';
import type { Live } from '../live.js';
import { backendDecision } from '../policy/engine.js';
import type { Connections } from '../upstream/connections.js';
import { assetRoutes } from './assets.js';
import { connectionHtml } from './connection-view.js';
import { consolePage, escapeHtml } from './html.js';
import { copyBlock, snippetsHtml } from './snippets.js';

const kindOf = (b: Backend) => (b.config.http ? 'http' : b.config.stdio ? 'stdio' : 'virtual');

/** Rows of "who am I"; an empty value hides its row. */
function meHtml(p: Principal, logout: string): string {
  const rows: [string, string, string][] = [
    ['name', 'Name', escapeHtml(p.name ?? '')],
    ['email', 'Email', escapeHtml(p.email ?? '')],
    ['sub', 'Subject', p.sub ? `<code>${escapeHtml(p.sub)}</code>` : ''],
    ['groups', 'Groups', escapeHtml(p.groups.join(', '))],
    ['tenant', 'Tenant', escapeHtml(p.tenant ?? '')],
  ];
  if (p.expiresAt) {
    const iso = new Date(p.expiresAt).toISOString();
    rows.push(['expires', 'Session ends', `<time datetime="${iso}">${iso}</time>`]);
  }
  const table = rows
    .filter(([, , v]) => v !== '')
    .map(([id, label, v]) => `<tr><th scope="row">${label}</th><td id="user-${id}">${v}</td></tr>`)
    .join('\n');
  return `<section class="card" id="me" aria-label="Signed in"><table>${table}</table>${logout}</section>`;
}

export async function homeRoutes(app: FastifyInstance, opts: { config: Config; live: Live; connections: Connections }) {
  const { config, live, connections } = opts;
  await app.register(assetRoutes);
  const loginEnabled = Boolean(config.oidc);

  async function card(p: Principal, b: Backend, isDefault: boolean): Promise<string> {
    const name = escapeHtml(b.name);
    const url = `${config.server.publicUrl}/mcp/${b.name}`;
    const oauth = b.config.upstream?.kind === 'oauth';
    const state = connectionHtml({
      backend: b.name,
      config: b.config,
      connection: oauth ? await connections.get(principalKey(p), b.name) : undefined,
      controls: p.source === 'session',
      returnTo: '/',
    });
    const explore = `/explore/${encodeURIComponent(b.name)}`;
    const also = isDefault
      ? `<p class="muted also">Also at <code>${escapeHtml(config.server.publicUrl)}/mcp</code> (the default).</p>`
      : '';
    const title = b.config.title ? `<p class="title">${escapeHtml(b.config.title)}</p>` : '';
    const description = b.config.description ? `<p class="muted">${escapeHtml(b.config.description)}</p>` : '';
    return (
      `<article class="card backend" id="backend-${name}" data-backend="${name}">` +
      `<h3 class="name"><a href="${escapeHtml(explore)}"><code>${name}</code></a></h3>` +
      `<div class="url">${copyBlock(`url-${b.name}`, url, `the MCP URL of ${b.name}`)}${also}</div>` +
      `<div class="badges"><span class="badge kind">${kindOf(b)}</span>` +
      (isDefault ? '<span class="badge">default</span>' : '') +
      `<span class="badge health" id="health-${name}" data-state="checking" role="status">checking…</span></div>` +
      `<div class="about">${title}${description}</div>` +
      (state ? `<p class="connection">Upstream account: ${state}</p>` : '') +
      `<p class="actions"><a class="button" href="${escapeHtml(explore)}">Open explorer</a></p>` +
      `${snippetsHtml(b.name, url)}</article>`
    );
  }

  app.get('/', async (req, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    const p = req.principal;
    if (!p) {
      const login = loginEnabled
        ? '<a class="button" id="login" href="/oauth/login">Log in</a>'
        : 'Browser login is not configured: use an API key or a bearer token.';
      return consolePage(
        'mcp-oidc-proxy',
        '<section class="card intro"><h1>mcp-oidc-proxy</h1>' +
          '<p class="muted">An authenticating proxy in front of MCP servers. Log in to use them.</p>\n' +
          `<p>${login}</p></section>`,
        [],
        ['home.css'],
      );
    }
    const csrf = req.session.get('user')?.csrf ?? '';
    const { backends } = live.current;
    const visible = backends.all().filter((b) => backendDecision(p, b.config).allow);
    const cards = (await Promise.all(visible.map((b) => card(p, b, b.name === backends.defaultName)))).join('\n');
    const logout =
      p.source === 'session'
        ? '<form method="post" action="/oauth/logout" class="logout">' +
          `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">` +
          '<button class="secondary" id="logout">Log out</button> ' +
          '<button class="secondary" id="logout-everywhere" name="everywhere" value="1" ' +
          'title="Also sign out your MCP clients: their tokens are revoked and their sessions closed">' +
          'Log out everywhere</button></form>'
        : '';
    const empty = visible.length
      ? ''
      : '<p class="empty card">No backend is open to you. Ask the proxy\'s administrator for access.</p>';
    const scripts = ['console.js', 'health.js'];
    if (visible.some((b) => b.config.upstream?.kind === 'oauth')) scripts.push('connections.js');
    return consolePage(
      'mcp-oidc-proxy',
      `<h1>Hello, ${escapeHtml(p.name ?? p.email ?? p.sub)}</h1>
${meHtml(p, logout)}
<h2>MCP backends</h2>${empty}<div id="connections" data-csrf="${escapeHtml(csrf)}">
<div id="backends" class="cards">${cards}</div></div>`,
      scripts,
      ['home.css'],
    );
  });
}
