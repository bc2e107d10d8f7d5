/** The home page cards' copy-paste client setups (the lines themselves: client-snippets.ts), with Copy buttons. */
import { clientSnippets } from './client-snippets.js';
import { escapeHtml } from './html.js';

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
  const blocks = clientSnippets(url, name)
    .map((s) => {
      const id = `snippet-${name}-${s.id}`;
      return (
        `<div class="snippet" data-client="${s.id}">` +
        `<div class="snippet-head"><strong>${escapeHtml(s.client)}</strong>` +
        ` <span class="muted">${escapeHtml(s.where)}</span></div>${copyBlock(id, s.text, s.client)}</div>`
      );
    })
    .join('');
  return (
    `<details class="snippets" id="snippets-${escapeHtml(name)}"><summary>Connect a client</summary>` +
    `<div class="snippet-grid">${blocks}</div></details>`
  );
}
