/**
 * What a logged-in browser opening an MCP URL (`/mcp`, `/mcp/<backend>`) gets: a page saying what
 * the URL is for and how to connect a client to it, instead of a JSON-RPC error. MCP clients are
 * told apart by what they accept and send (text/event-stream, MCP headers) and never see it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientSnippets } from './client-snippets.js';
import { escapeHtml, narrowPage } from './html.js';

/** A browser navigating to the URL: a GET asking for HTML, with nothing an MCP client sends. */
export function isBrowserVisit(req: FastifyRequest): boolean {
  if (req.method !== 'GET') return false;
  const h = req.headers;
  const accept = h.accept ?? '';
  if (!accept.includes('text/html') || accept.includes('text/event-stream')) return false;
  return !h['mcp-session-id'] && !h['mcp-protocol-version'] && !h['last-event-id'] && !h.authorization;
}

const STYLE = `<style>
.snippet h3{font-size:1rem;margin:.9rem 0 .2rem}.snippet pre{margin:.2rem 0}.snippet pre code{background:none;padding:0}
.url{font-size:1.1rem;word-break:break-all}.connect h2{font-size:1.1rem;margin:0}
</style>`;

/** The page for `url` (the MCP URL as the client must use it) of backend `name` (also its name in client configs). */
export function mcpUrlPageHtml(url: string, name: string): string {
  const snippets = clientSnippets(url, name)
    .map(
      (s) =>
        `<div class="snippet" id="snippet-${s.id}"><h3>${escapeHtml(s.client)} <span class="muted">` +
        `(${escapeHtml(s.where)})</span></h3><pre><code id="code-${s.id}">${escapeHtml(s.text)}</code></pre>` +
        `<button type="button" class="secondary small copy" data-copy="code-${s.id}">Copy</button></div>`,
    )
    .join('');
  const console =
    `<a href="/" id="console">Open the web console</a> to see your backends, or ` +
    `<a href="/explore/${encodeURIComponent(name)}" id="explore">try this one's tools in the explorer</a>.`;
  return narrowPage(
    `MCP endpoint ${url}`,
    `${STYLE}<h1>This is an MCP endpoint</h1>
<p class="url"><code id="mcp-url">${escapeHtml(url)}</code></p>
<p>This address is for MCP clients (Claude Code, MCP Inspector, VS Code, Cursor, …), not for a browser. It speaks
MCP over streamable HTTP; the proxy in front of it logs you in with OAuth: your client opens your browser at the
proxy's login, then gets a token for this URL alone.</p>
<p>${console}</p>
<div class="card connect"><h2>Connect a client</h2>${snippets}
<p class="muted">Scripts and CI use an API key instead: <code>Authorization: Bearer &lt;key&gt;</code> or
<code>X-API-Key</code>.</p></div>`,
    ['console.js'],
  );
}

/** Answers a browser's visit with the page (200, HTML): `routed` is the name in the URL (none for `/mcp`). */
export function sendMcpUrlPage(
  reply: FastifyReply,
  publicUrl: string,
  routed: string | undefined,
  backend: string,
): FastifyReply {
  const path = routed === undefined ? '/mcp' : `/mcp/${encodeURIComponent(routed)}`;
  return reply
    .code(200)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('vary', 'accept')
    .send(mcpUrlPageHtml(`${publicUrl}${path}`, backend));
}
