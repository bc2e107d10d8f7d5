// MCP explorer: lists a backend's tools, resources and prompts through the REST API, builds a
// form per tool from its JSON Schema, and shows results. No framework, no build step.
(() => {
  const root = document.getElementById('explorer');
  const backend = root.dataset.backend;
  const csrf = root.dataset.csrf;
  const api = (path, body) =>
    fetch(`/api/backends/${encodeURIComponent(backend)}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: body ? { 'content-type': 'application/json', 'x-csrf-token': csrf } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(async (r) => ({ ok: r.ok, data: await r.json() }));
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) k === 'text' ? (e.textContent = v) : e.setAttribute(k, v);
    for (const k of kids) if (k) e.append(k);
    return e;
  };

  function field(name, schema, required) {
    const id = `f-${name}`;
    const label = el('label', { for: id, text: `${name}${required ? ' *' : ''}` });
    let input;
    if (Array.isArray(schema.enum)) {
      input = el('select', { id, name });
      for (const v of schema.enum) input.append(el('option', { value: JSON.stringify(v), text: String(v) }));
      input.dataset.kind = 'json';
    } else if (schema.type === 'boolean') {
      input = el('input', { id, name, type: 'checkbox' });
      input.dataset.kind = 'boolean';
    } else if (schema.type === 'number' || schema.type === 'integer') {
      input = el('input', { id, name, type: 'number', step: schema.type === 'integer' ? '1' : 'any' });
      input.dataset.kind = 'number';
    } else if (schema.type === 'object' || schema.type === 'array') {
      input = el('textarea', { id, name, rows: '3', placeholder: schema.type === 'array' ? '[ ]' : '{ }' });
      input.dataset.kind = 'json';
    } else {
      input = el('input', { id, name, type: 'text' });
      input.dataset.kind = 'string';
    }
    if (schema.description) input.title = schema.description;
    return el('p', {}, label, ' ', input);
  }

  function readForm(form) {
    const args = {};
    for (const input of form.querySelectorAll('[data-kind]')) {
      const k = input.dataset.kind;
      if (k === 'boolean') args[input.name] = input.checked;
      else if (input.value === '') continue;
      else if (k === 'number') args[input.name] = Number(input.value);
      else if (k === 'json') args[input.name] = JSON.parse(input.value);
      else args[input.name] = input.value;
    }
    return args;
  }

  function renderResult(out, { ok, data }) {
    out.replaceChildren();
    if (!ok)
      return out.append(
        el('p', { class: 'error', text: data.error ? `${data.error.code}: ${data.error.message}` : 'error' }),
      );
    if (data.isError) out.append(el('p', { class: 'error', text: 'The tool reported an error:' }));
    for (const c of data.content ?? data.contents ?? data.messages ?? []) {
      const item = c.content ?? c;
      if (item.type === 'image')
        out.append(el('img', { src: `data:${item.mimeType};base64,${item.data}`, alt: 'image result' }));
      else if (item.type === 'resource')
        out.append(
          el('pre', { text: item.resource.text ?? `[${item.resource.mimeType ?? 'binary'} ${item.resource.uri}]` }),
        );
      else out.append(el('pre', { text: item.text ?? JSON.stringify(item, null, 2) }));
    }
  }

  async function load() {
    const [tools, resources, prompts] = await Promise.all([api('/tools'), api('/resources'), api('/prompts')]);
    const list = document.getElementById('tools');
    for (const tool of tools.ok ? tools.data.tools : []) {
      const props = tool.inputSchema?.properties ?? {};
      const required = tool.inputSchema?.required ?? [];
      const form = el('form', { 'data-tool': tool.name });
      for (const [name, schema] of Object.entries(props)) form.append(field(name, schema, required.includes(name)));
      const out = el('div', { class: 'result' });
      form.append(el('button', { type: 'submit', text: `Call ${tool.name}` }));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        let args;
        try {
          args = readForm(form);
        } catch (e) {
          return renderResult(out, { ok: false, data: { error: { code: 'BAD_INPUT', message: String(e.message) } } });
        }
        renderResult(out, await api('/tools/call', { name: tool.name, arguments: args }));
      });
      list.append(
        el(
          'div',
          { class: 'card tool', id: `tool-${tool.name}` },
          el('h3', { text: tool.name }),
          el('p', { class: 'muted', text: tool.description ?? '' }),
          form,
          out,
        ),
      );
    }
    const res = document.getElementById('resources');
    for (const r of resources.ok ? resources.data.resources : []) {
      const out = el('div', { class: 'result' });
      const b = el('button', { type: 'button', class: 'secondary', text: `Read ${r.uri}` });
      b.addEventListener('click', async () => renderResult(out, await api('/resources/read', { uri: r.uri })));
      res.append(el('div', { class: 'card' }, el('strong', { text: r.name ?? r.uri }), ' ', b, out));
    }
    const pr = document.getElementById('prompts');
    for (const p of prompts.ok ? prompts.data.prompts : []) {
      const form = el('form', {});
      for (const a of p.arguments ?? [])
        form.append(field(a.name, { type: 'string', description: a.description }, a.required));
      const out = el('div', { class: 'result' });
      form.append(el('button', { type: 'submit', class: 'secondary', text: `Get ${p.name}` }));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        renderResult(out, await api('/prompts/get', { name: p.name, arguments: readForm(form) }));
      });
      pr.append(el('div', { class: 'card' }, el('strong', { text: p.name }), form, out));
    }
    root.dataset.loaded = 'true';
  }
  load();
})();
