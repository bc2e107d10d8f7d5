/** `GET /`: who am I, log in / log out, and the backends this proxy serves. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import type { Live } from '../live.js';
import { escapeHtml, page } from './html.js';
import { backendDecision } from '../policy/engine.js';
import { principalKey } from '../identity/principal.js';
import type { Connections } from '../upstream/connections.js';
import { connectionHtml, connectionScriptRoute } from './connection-view.js';

export async function homeRoutes(app: FastifyInstance, opts: { config: Config; live: Live; connections: Connections }) {
  const { config, live, connections } = opts;
  await connectionScriptRoute(app);
  const loginEnabled = Boolean(config.oidc);
  app.get('/', async (req, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    const p = req.principal;
    if (!p) {
      const login = loginEnabled
        ? '<a class="button" id="login" href="/oauth/login">Log in</a>'
        : 'Browser login is not configured: use an API key or a bearer token.';
      return page(
        'mcp-oidc-proxy',
        '<h1>mcp-oidc-proxy</h1>' +
          '<p class="muted">An authenticating proxy in front of MCP servers. Log in to use them.</p>\n' +
          `<p>${login}</p>`,
      );
    }
    const csrf = req.session.get('user')?.csrf ?? '';
    const { backends } = live.current;
    const visible = backends.all().filter((b) => backendDecision(p, b.config).allow);
    const user = principalKey(p);
    const rows = (
      await Promise.all(
        visible.map(async (b) => {
          const url = escapeHtml(`${config.server.publicUrl}/mcp/${b.name}`);
          const also = b.name === backends.defaultName ? ' (also <code>/mcp</code>)' : '';
          const oauth = b.config.upstream?.kind === 'oauth';
          const connection = oauth ? await connections.get(user, b.name) : undefined;
          const state = connectionHtml({
            backend: b.name,
            config: b.config,
            connection,
            controls: p.source === 'session',
            returnTo: '/',
          });
          return (
            `<tr><td><a href="/explore/${encodeURIComponent(b.name)}"><code>${escapeHtml(b.name)}</code></a></td>` +
            `<td><code>${url}</code>${also}</td><td>${escapeHtml(b.config.description ?? '')}</td>` +
            `<td>${state}</td></tr>`
          );
        }),
      )
    ).join('');
    const script = visible.some((b) => b.config.upstream?.kind === 'oauth')
      ? '<script src="/assets/connections.js"></script>'
      : '';
    const expires = p.expiresAt ? new Date(p.expiresAt).toISOString() : '';
    const logout =
      p.source === 'session'
        ? '<form method="post" action="/oauth/logout">' +
          `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">` +
          '<button class="secondary" id="logout">Log out</button> ' +
          '<button class="secondary" id="logout-everywhere" name="everywhere" value="1" ' +
          'title="Also sign out your MCP clients: their tokens are revoked and their sessions closed">' +
          'Log out everywhere</button></form>'
        : '';
    return page(
      'mcp-oidc-proxy',
      `<h1>mcp-oidc-proxy</h1>
<div class="card" id="me"><table>
<tr><th>Name</th><td id="user-name">${escapeHtml(p.name ?? '')}</td></tr>
<tr><th>Email</th><td id="user-email">${escapeHtml(p.email ?? '')}</td></tr>
<tr><th>Subject</th><td id="user-sub"><code>${escapeHtml(p.sub)}</code></td></tr>
<tr><th>Groups</th><td id="user-groups">${escapeHtml(p.groups.join(', '))}</td></tr>
<tr><th>Tenant</th><td id="user-tenant">${escapeHtml(p.tenant ?? '')}</td></tr>
<tr><th>Session ends</th><td id="user-expires">${escapeHtml(expires)}</td></tr>
</table>
${logout}
</div>
<h2>MCP backends</h2><div class="card" id="connections" data-csrf="${escapeHtml(csrf)}">
<table id="backends">${rows}</table></div>${script}`,
    );
  });
}
