/** Tiny helpers for server-rendered pages. */
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);
}

const STYLE =
  'body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:52rem;margin:2.5rem auto;padding:0 1rem;' +
  'color:#1d2330;line-height:1.5}\n' +
  'h1{font-size:1.5rem;margin-bottom:.25rem}.muted{color:#667}' +
  '.card{border:1px solid #dde2ea;border-radius:.6rem;padding:1rem 1.25rem;margin:1rem 0}\n' +
  'button,.button{background:#2456d3;color:#fff;border:0;border-radius:.4rem;padding:.5rem 1rem;font-size:1rem;' +
  'cursor:pointer;text-decoration:none;display:inline-block}\n' +
  'button.secondary{background:#e8ecf3;color:#1d2330}' +
  'code{background:#f2f4f8;padding:.1rem .3rem;border-radius:.25rem}\n' +
  'table{border-collapse:collapse}pre{background:#f6f7f9;padding:.6rem;border-radius:.4rem;white-space:pre-wrap}' +
  '.error{color:#b3261e}.result img{max-width:100%}label{display:inline-block;min-width:8rem}textarea{width:100%}' +
  'td,th{text-align:left;padding:.25rem .75rem .25rem 0;vertical-align:top}\n';

/**
 * A plain page, not the proxy's: the embedded dev IdP's, which stands in for an outside IdP and so does
 * not wear the proxy's header. The proxy's own pages use consolePage. `body` must already be escaped.
 */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>
${STYLE}</style></head><body>${body}</body></html>`;
}

const LOGO = '<img src="/favicon.svg" alt="" width="24" height="24">';

/**
 * Every page of the proxy's own (home, explorer, MCP URL page, error pages, consent, device flow): the product
 * header (logo, name, theme toggle), favicon, styles and scripts from /assets (web/assets.ts). `body` must already
 * be escaped; `scripts` (modules) and `styles` are asset names.
 */
export function consolePage(title: string, body: string, scripts: string[] = [], styles: string[] = []): string {
  const modules = scripts.map((s) => `<script type="module" src="/assets/${escapeHtml(s)}"></script>`).join('');
  const sheets = styles.map((s) => `<link rel="stylesheet" href="/assets/${escapeHtml(s)}">`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/console.css">${sheets}
<script src="/assets/theme.js"></script>${modules}</head><body class="console">
<header class="bar product"><a class="brand" href="/">${LOGO} mcp-oidc-proxy</a>
<button type="button" class="ghost" id="theme-toggle" aria-label="Switch theme" hidden>Theme</button></header>
<main>${body}</main></body></html>`;
}

/** A console page of one short text, narrower (errors, the MCP URL page, consent, device flow). */
export function narrowPage(title: string, body: string, scripts: string[] = []): string {
  return consolePage(title, `<div class="narrow">${body}</div>`, scripts);
}
