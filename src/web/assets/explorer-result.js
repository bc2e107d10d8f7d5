// Explorer results: an API error (what failed, its code and HTTP status), or the MCP result rendered (text, JSON as
// a collapsible tree, images, resource links, embedded resources, isError styled), with a "Raw JSON" toggle.

export const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs))
    if (v === undefined || v === false) continue;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  for (const k of kids) if (k !== undefined && k !== null && k !== false) e.append(k);
  return e;
};

/** The API's error (`{error: {code, message}}`, a status) as a sentence and a code. */
export function errorBox(what, res) {
  const err = res.data?.error ?? {};
  const code = err.code ?? (res.status ? `HTTP_${res.status}` : 'NETWORK_ERROR');
  const message =
    err.message ?? (res.status ? `the proxy answered HTTP ${res.status}` : 'the request did not complete');
  const box = el(
    'div',
    { class: 'alert', role: 'alert' },
    el('strong', { text: what }),
    el('span', { class: 'message', text: message }),
    ' ',
    el('code', { class: 'code', text: res.status ? `${code} · HTTP ${res.status}` : code }),
  );
  if (typeof err.connectUrl === 'string')
    box.append(' ', el('a', { class: 'button small', href: err.connectUrl, text: 'Connect your account' }));
  return box;
}

function primitive(v) {
  if (v === null) return el('span', { class: 'j-null', text: 'null' });
  if (typeof v === 'string') return el('span', { class: 'j-str', text: JSON.stringify(v) });
  return el('span', { class: `j-${typeof v}`, text: String(v) });
}

/** A JSON value as nested <details> (open to depth 2), each key labelled. */
export function jsonTree(value, depth = 0) {
  if (value === null || typeof value !== 'object') return primitive(value);
  const array = Array.isArray(value);
  const entries = array ? value.map((v, i) => [i, v]) : Object.entries(value);
  const size = array ? `${entries.length} item${entries.length === 1 ? '' : 's'}` : `${entries.length} keys`;
  if (entries.length === 0) return el('span', { class: 'j-empty', text: array ? '[]' : '{}' });
  const list = el('ul');
  for (const [k, v] of entries)
    list.append(
      el(
        'li',
        {},
        el('span', { class: 'j-key', text: array ? `${k}` : JSON.stringify(k) }),
        ': ',
        jsonTree(v, depth + 1),
      ),
    );
  const tree = el(
    'details',
    { class: 'j-node', open: depth < 2 },
    el('summary', { text: array ? `[ ${size} ]` : `{ ${size} }` }),
    list,
  );
  return depth === 0 ? el('div', { class: 'json-tree' }, tree) : tree;
}

/** JSON text (an object or an array) parsed, or undefined. */
function asJson(text) {
  if (typeof text !== 'string' || !/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isWebUrl = (uri) => /^https?:\/\//i.test(uri);

function image(mimeType, data, alt) {
  if (!/^image\/[\w.+-]+$/.test(mimeType ?? '')) return el('p', { class: 'muted', text: `[${mimeType} data]` });
  return el('img', { src: `data:${mimeType};base64,${data}`, alt });
}

/** One resource's contents (resources/read, or embedded in a result). */
function resourceContents(r) {
  const label = el('p', { class: 'muted uri' }, el('code', { text: r.uri }), r.mimeType ? ` ${r.mimeType}` : '');
  if (typeof r.text === 'string') {
    const json = r.mimeType === 'application/json' ? asJson(r.text) : undefined;
    return el('div', { class: 'resource' }, label, json !== undefined ? jsonTree(json) : el('pre', { text: r.text }));
  }
  if (r.blob && /^image\//.test(r.mimeType ?? '')) return el('div', {}, label, image(r.mimeType, r.blob, r.uri));
  return el('div', {}, label, el('p', { class: 'muted', text: `[binary ${r.mimeType ?? 'data'}]` }));
}

function resourceLink(item, ctx) {
  const text = item.title ?? item.name ?? item.uri;
  const link = isWebUrl(item.uri)
    ? el('a', { href: item.uri, target: '_blank', rel: 'noopener noreferrer', text })
    : el('strong', { text });
  const box = el(
    'div',
    { class: 'resource-link' },
    el('span', { class: 'badge', text: 'link' }),
    ' ',
    link,
    ' ',
    el('code', { text: item.uri }),
  );
  if (item.description) box.append(el('p', { class: 'muted', text: item.description }));
  if (!isWebUrl(item.uri) && ctx?.readResource) {
    const out = el('div', { class: 'result nested' });
    const button = el('button', { type: 'button', class: 'secondary small', text: 'Read' });
    const status = el('span', { class: 'call-status', role: 'status' });
    button.addEventListener('click', () => ctx.readResource(item.uri, { out, button, status }));
    box.append(' ', button, ' ', status, out);
  }
  return box;
}

function contentItem(item, ctx, structured) {
  switch (item.type) {
    case 'text': {
      const json = asJson(item.text);
      if (json !== undefined && structured !== undefined && JSON.stringify(json) === JSON.stringify(structured))
        return undefined; // the same as structuredContent, shown as a tree below
      return json !== undefined ? jsonTree(json) : el('pre', { text: item.text });
    }
    case 'image':
      return image(item.mimeType, item.data, `image result (${item.mimeType})`);
    case 'audio':
      return el('p', { class: 'muted', text: `[audio ${item.mimeType}: not played here]` });
    case 'resource_link':
      return resourceLink(item, ctx);
    case 'resource':
      return resourceContents(item.resource);
    default:
      return item.uri !== undefined ? resourceContents(item) : jsonTree(item);
  }
}

/** Render an API answer `{ok, status, data}` into `out`; `what` names the call for its error message. */
export function renderResult(out, res, what, ctx) {
  out.replaceChildren();
  out.classList.toggle('is-error', !res.ok || res.data?.isError === true);
  if (!res.ok) return out.append(errorBox(`${what} failed`, res));
  const data = res.data;
  const view = el('div', { class: 'rendered' });
  if (data.isError) view.append(el('p', { class: 'error tool-error', text: 'The tool reported an error:' }));
  if (data.description) view.append(el('p', { class: 'muted', text: data.description }));
  for (const m of data.messages ?? []) {
    const item = contentItem(m.content, ctx);
    view.append(el('div', { class: 'message' }, el('span', { class: 'badge role', text: m.role }), item));
  }
  for (const c of data.content ?? data.contents ?? []) {
    const item = contentItem(c, ctx, data.structuredContent);
    if (item) view.append(item);
  }
  if (data.structuredContent !== undefined)
    view.append(el('p', { class: 'muted small', text: 'Structured content' }), jsonTree(data.structuredContent));
  const empty = !view.childElementCount;
  if (empty) view.append(el('p', { class: 'empty', text: 'The result has no content.' }));
  const raw = el(
    'details',
    { class: 'raw' },
    el('summary', { text: 'Raw JSON' }),
    el('pre', { text: JSON.stringify(data, null, 2) }),
  );
  out.append(view, raw);
}
