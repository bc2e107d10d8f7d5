/**
 * `GET /admin`: the admin console page — a table per kind (clients, keys; and per user: grants,
 * sessions, connections) with revoke/end buttons, filled by /assets/admin.js from /admin/api/*.
 */
import type { FastifyInstance } from 'fastify';
import { consolePage, escapeHtml } from '../web/html.js';
import type { AdminContext } from './context.js';

const section = (id: string, title: string, hint: string) =>
  `<section class="card admin-list" id="${id}" aria-labelledby="${id}-title">` +
  `<h2 id="${id}-title">${title}</h2><p class="muted">${hint}</p>` +
  `<div class="rows" aria-live="polite"><p class="muted">Loading…</p></div></section>`;

export async function adminPage(app: FastifyInstance, _ctx: AdminContext): Promise<void> {
  app.get('/admin', async (req, reply) => {
    const p = req.principal!;
    const csrf = p.source === 'session' ? (req.session.get('user')?.csrf ?? '') : '';
    const body =
      `<h1>Administration</h1><p class="muted">Signed in as <code>${escapeHtml(p.sub)}</code>. ` +
      'Every action here is written to the audit log.</p>' +
      `<div id="admin" data-csrf="${escapeHtml(csrf)}" data-user="${escapeHtml(p.sub)}">` +
      section('clients', 'OAuth clients', 'Deleting a client deletes its grants: its tokens stop working.') +
      section('keys', 'API keys and client certificates', 'Configured in the config file; no secrets shown.') +
      '<form id="user-form" class="card" role="search"><label for="user">User (sub)</label> ' +
      '<input id="user" name="user" autocomplete="off" required> <button type="submit">Show</button></form>' +
      section('grants', 'Grants', "The user's consents to MCP clients.") +
      section('sessions', 'Browser sessions', "The user's signed-in browsers.") +
      section('connections', 'Upstream connections', "The user's accounts connected to backends.") +
      '</div>';
    return reply
      .type('text/html; charset=utf-8')
      .send(consolePage('Administration', body, ['admin.js'], ['admin.css']));
  });
}
