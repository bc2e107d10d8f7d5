// MCP explorer: a backend's tools, resources and prompts through the REST API, a form per tool from its input
// schema, results rendered, and this session's history. No framework, no build step.
import { fillForm, readForm, schemaFields, field, submitOnCtrlEnter } from './explorer-form.js';
import { clearHistory, remember, renderHistory } from './explorer-history.js';
import { loadSection, makeApi, runCall, showLoading } from './explorer-lists.js';
import { el, errorBox, renderResult } from './explorer-result.js';

const root = document.getElementById('explorer');
const backend = root.dataset.backend;
const api = makeApi(backend, root.dataset.csrf);
const forms = new Map();
const historyList = document.getElementById('history');

const showHistory = () =>
  renderHistory(historyList, backend, (entry) => {
    const form = forms.get(`${entry.kind}:${entry.name}`);
    if (!form) return;
    fillForm(form, entry.args);
    form.scrollIntoView({ block: 'center' });
    (form.querySelector('[data-kind]') ?? form.querySelector('button[type=submit]')).focus();
  });

/** Make one API call from a form or button, render it into `out` and remember it. */
async function perform({ kind, name, args, path, body, what, button, status, out }) {
  const res = await runCall({ button, status }, (signal) => api(path, body, signal));
  renderResult(out, res, what, ctx);
  const code = res.data?.error?.code;
  remember({ backend, kind, name, args, ok: res.ok, isError: res.data?.isError === true, code, ms: res.ms });
  showHistory();
  return res;
}

const ctx = {
  readResource: (uri, { out, button, status }) =>
    perform({
      kind: 'resource',
      name: uri,
      args: { uri },
      path: '/resources/read',
      body: { uri },
      what: `Reading ${uri}`,
      button,
      status,
      out,
    }),
};

/** A card with a form that calls `path` with `body(args)`: tools and prompts. */
function callCard({ kind, name, id, heading, text, fields, badges = [], verb, path, body }) {
  const form = el('form', { novalidate: true, [`data-${kind}`]: name, 'aria-label': `${verb} ${name}` }, ...fields);
  const button = el('button', { type: 'submit', class: kind === 'tool' ? '' : 'secondary', text: `${verb} ${name}` });
  const status = el('span', { class: 'call-status', role: 'status' });
  form.append(el('div', { class: 'form-actions' }, button, ' ', status));
  const out = el('div', { class: 'result', 'aria-live': 'polite' });
  submitOnCtrlEnter(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { args, problems } = readForm(form);
    if (problems.length) {
      status.dataset.state = 'invalid';
      status.textContent = `Not called: ${problems.map((p) => p.message).join('; ')}`;
      return;
    }
    await perform({ kind, name, args, path, body: body(args), what: `${verb} ${name}`, button, status, out });
  });
  forms.set(`${kind}:${name}`, form);
  const head = el('div', { class: 'card-head' }, el('h3', {}, el('code', { text: name })), ...badges);
  return el('div', { class: `card ${kind}`, id }, head, heading, text, form, out);
}

function toolCard(tool) {
  const a = tool.annotations ?? {};
  const badges = [];
  if (a.readOnlyHint) badges.push(el('span', { class: 'badge', text: 'read-only' }));
  if (a.destructiveHint) badges.push(el('span', { class: 'badge bad', text: 'destructive' }));
  const title = tool.title ?? a.title;
  return callCard({
    kind: 'tool',
    name: tool.name,
    id: `tool-${tool.name}`,
    badges,
    verb: 'Call',
    heading: title ? el('p', { class: 'title', text: title }) : null,
    text: tool.description ? el('p', { class: 'muted desc', text: tool.description }) : null,
    fields: schemaFields(tool.inputSchema),
    path: '/tools/call',
    body: (args) => ({ name: tool.name, arguments: args }),
  });
}

function promptCard(p) {
  return callCard({
    kind: 'prompt',
    name: p.name,
    id: `prompt-${p.name}`,
    verb: 'Get',
    heading: p.title ? el('p', { class: 'title', text: p.title }) : null,
    text: p.description ? el('p', { class: 'muted desc', text: p.description }) : null,
    fields: (p.arguments ?? []).map((a) => field(a.name, { type: 'string', description: a.description }, a.required)),
    path: '/prompts/get',
    body: (args) => ({ name: p.name, arguments: args }),
  });
}

function resourceCard(r) {
  const out = el('div', { class: 'result', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'secondary', text: `Read ${r.uri}` });
  const status = el('span', { class: 'call-status', role: 'status' });
  button.addEventListener('click', () =>
    perform({
      kind: 'resource',
      name: r.uri,
      args: { uri: r.uri },
      path: '/resources/read',
      body: { uri: r.uri },
      what: `Reading ${r.uri}`,
      button,
      status,
      out,
    }),
  );
  const head = el('div', { class: 'card-head' }, el('h3', { text: r.title ?? r.name ?? r.uri }));
  if (r.mimeType) head.append(el('span', { class: 'badge', text: r.mimeType }));
  return el(
    'div',
    { class: 'card resource' },
    head,
    el('p', {}, el('code', { text: r.uri })),
    r.description ? el('p', { class: 'muted desc', text: r.description }) : null,
    el('div', { class: 'form-actions' }, button, ' ', status),
    out,
  );
}

const list = (path, key) => async () => {
  const res = await api(path);
  return { ...res, items: res.ok ? res.data[key] : undefined };
};

const SECTIONS = [
  { id: 'tools', noun: 'tools', fetchList: list('/tools', 'tools'), render: toolCard },
  { id: 'resources', noun: 'resources', fetchList: list('/resources', 'resources'), render: resourceCard },
  { id: 'prompts', noun: 'prompts', fetchList: list('/prompts', 'prompts'), render: promptCard },
];
const sectionsBox = root.querySelector('.sections');
const downBox = document.getElementById('explorer-down');
const jump = document.querySelector('nav.jump');
const failed = (res) => !res.ok || !Array.isArray(res.items);

/**
 * All three lists at once. When every one fails (the backend is down, or refuses this user), the failure is shown
 * once above the sections, with one Retry, and the sections are hidden; otherwise each section shows its own state.
 */
async function loadAll() {
  root.dataset.state = 'loading';
  downBox.hidden = true;
  sectionsBox.hidden = false;
  for (const s of SECTIONS) showLoading(document.getElementById(s.id), s.noun);
  const results = await Promise.all(SECTIONS.map((s) => s.fetchList()));
  const down = results.every(failed);
  sectionsBox.hidden = down;
  for (const a of jump?.querySelectorAll('a[data-section]') ?? []) a.hidden = down;
  if (down) {
    const retry = el('button', { type: 'button', class: 'secondary small retry', text: 'Retry' });
    retry.addEventListener('click', () => loadAll());
    downBox.replaceChildren(
      errorBox(`Could not load the tools, resources and prompts of "${backend}"`, results[0]),
      retry,
    );
    downBox.hidden = false;
    for (const s of SECTIONS) document.getElementById(`count-${s.id}`).textContent = '!';
    root.dataset.state = 'down';
    return;
  }
  root.dataset.state = 'loaded';
  await Promise.all(
    SECTIONS.map((s, i) => {
      let first = results[i];
      const fetchList = () => {
        const res = first ?? s.fetchList();
        first = undefined;
        return res;
      };
      const box = document.getElementById(s.id);
      return loadSection(box, { noun: s.noun, backend, fetchList, render: s.render, countEl: countOf(s.id) });
    }),
  );
}
const countOf = (id) => document.getElementById(`count-${id}`);

document.getElementById('history-clear')?.addEventListener('click', () => {
  clearHistory(backend);
  showHistory();
});
showHistory();
await loadAll();
root.dataset.loaded = 'true';
