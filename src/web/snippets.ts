/** Copy-paste client setups for one MCP URL (home page cards): Claude Code, Inspector, mcp-remote, VS Code, Cursor. */
import { escapeHtml } from './html.js';

export interface Snippet {
  id: string;
  client: string;
  /** Where it goes: a shell, or the file it belongs in. */
  where: string;
  text: string;
  hint?: string;
}

/** A shell word: left bare when it has nothing a shell would read. */
const sh = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function clientSnippets(name: string, url: string): Snippet[] {
  const plainHttp = url.startsWith('http:');
  return [
    {
      id: 'claude',
      client: 'Claude Code',
      where: 'shell',
      text: `claude mcp add --transport http ${sh(name)} ${sh(url)}`,
      hint: 'Then /mcp in Claude Code → Authenticate.',
    },
    {
      id: 'inspector',
      client: 'MCP Inspector',
      where: 'shell',
      text: 'npx @modelcontextprotocol/inspector',
      hint:
        'Transport "Streamable HTTP", this URL, then Open Auth Settings → Quick OAuth Flow. Its origin ' +
        '(http://localhost:6274) must be in server.allowedOrigins.',
    },
    {
      id: 'mcp-remote',
      client: 'mcp-remote',
      where: 'shell',
      text: `npx mcp-remote ${sh(url)}${plainHttp ? ' --allow-http' : ''}`,
      hint: 'For clients that only speak stdio.',
    },
    {
      id: 'vscode',
      client: 'VS Code',
      where: '.vscode/mcp.json',
      text: JSON.stringify({ servers: { [name]: { type: 'http', url } } }, null, 2),
    },
    {
      id: 'cursor',
      client: 'Cursor',
      where: '~/.cursor/mcp.json',
      text: JSON.stringify({ mcpServers: { [name]: { url } } }, null, 2),
    },
  ];
}

/** A pre with a Copy button (assets/console.js copies the text of `data-copy`'s element). */
export function copyBlock(id: string, text: string, label: string): string {
  return (
    `<div class="copyable"><pre id="${escapeHtml(id)}">${escapeHtml(text)}</pre>` +
    `<button type="button" class="secondary small copy" data-copy="${escapeHtml(id)}" ` +
    `aria-label="Copy ${escapeHtml(label)}">Copy</button></div>`
  );
}

/** The "Connect a client" disclosure of one backend card. */
export function snippetsHtml(name: string, url: string): string {
  const blocks = clientSnippets(name, url)
    .map((s) => {
      const id = `snippet-${name}-${s.id}`;
      const hint = s.hint ? `<p class="muted hint">${escapeHtml(s.hint)}</p>` : '';
      return (
        `<div class="snippet" data-client="${s.id}">` +
        `<div class="snippet-head"><strong>${escapeHtml(s.client)}</strong>` +
        ` <span class="muted">${escapeHtml(s.where)}</span></div>${copyBlock(id, s.text, `${s.client} ${s.where}`)}` +
        `${hint}</div>`
      );
    })
    .join('');
  return (
    `<details class="snippets" id="snippets-${escapeHtml(name)}"><summary>Connect a client</summary>` +
    `<div class="snippet-grid">${blocks}</div></details>`
  );
}
