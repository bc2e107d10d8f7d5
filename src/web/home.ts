/** `GET /`: who am I, log in / log out, and the backends this proxy serves. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.js';
import type { Live } from '../live.js';
import { escapeHtml, page } from './html.js';
import { backendDecision } from '../policy/engine.js';

export async function homeRoutes(app: FastifyInstance, opts: { config: Config; live: Live }) {
  const { config, live } = opts;
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
    const rows = backends
      .all()
      .filter((b) => backendDecision(p, b.config).allow)
      .map((b) => {
        const url = escapeHtml(`${config.server.publicUrl}/mcp/${b.name}`);
        const also = b.name === backends.defaultName ? ' (also <code>/mcp</code>)' : '';
        return (
          `<tr><td><a href="/explore/${encodeURIComponent(b.name)}"><code>${escapeHtml(b.name)}</code></a></td>` +
          `<td><code>${url}</code>${also}</td><td>${escapeHtml(b.config.description ?? '')}</td></tr>`
        );
      })
      .join('');
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
<h2>MCP backends</h2><div class="card"><table id="backends">${rows}</table></div>`,
    );
  });
}
