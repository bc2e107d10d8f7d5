// Explorer history: the calls made in this browser session (sessionStorage), newest first, per backend; an entry
// fills its form again.
import { el } from './explorer-result.js';

const KEY = 'mcp-console-history';
const MAX = 50;

function load() {
  try {
    const list = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function save(list) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
  } catch {}
}

/** Remember one call: `{backend, kind: tool|prompt|resource, name, args, ok, isError, code, ms}`. */
export function remember(entry) {
  save([{ ...entry, at: new Date().toISOString() }, ...load()]);
}

export function clearHistory(backend) {
  save(load().filter((e) => e.backend !== backend));
}

const ICON = { tool: '⚙', prompt: '✎', resource: '☰' };

/** The list for `backend` into `list`; `replay(entry)` runs when its "Fill form" is used. */
export function renderHistory(list, backend, replay) {
  const entries = load().filter((e) => e.backend === backend);
  list.replaceChildren();
  if (!entries.length) return list.append(el('li', { class: 'empty', text: 'No calls yet in this browser session.' }));
  for (const e of entries) {
    const outcome = !e.ok ? `failed: ${e.code ?? 'error'}` : e.isError ? 'tool error' : 'ok';
    const when = new Date(e.at);
    const item = el(
      'li',
      { class: `h-entry ${e.ok && !e.isError ? 'h-ok' : 'h-bad'}`, 'data-kind': e.kind, 'data-name': e.name },
      el('span', { class: 'h-icon', 'aria-hidden': 'true', text: ICON[e.kind] ?? '•' }),
      el('span', { class: 'h-name', text: e.name }),
      el(
        'span',
        { class: 'muted h-meta' },
        `${outcome} · ${(e.ms / 1000).toFixed(2)} s · `,
        el('time', { datetime: e.at, title: e.at, text: when.toLocaleTimeString() }),
      ),
    );
    const args = e.args && Object.keys(e.args).length ? JSON.stringify(e.args) : '';
    if (args) item.append(el('code', { class: 'h-args', text: args }));
    if (e.kind !== 'resource') {
      const again = el('button', { type: 'button', class: 'secondary small', text: 'Fill form' });
      again.setAttribute('aria-label', `Fill the ${e.name} form with these arguments`);
      again.addEventListener('click', () => replay(e));
      item.append(again);
    }
    list.append(item);
  }
}
