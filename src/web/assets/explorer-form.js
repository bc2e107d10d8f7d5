// Explorer forms: fields from a tool's input schema (or a prompt's arguments), read back into arguments with the
// required ones enforced and JSON checked before anything is sent; each problem is shown at its field.
import { el } from './explorer-result.js';

let seq = 0;

/** One labelled field; `data-kind` says how its value is read. */
export function field(name, schema = {}, required = false) {
  const id = `f${++seq}-${name.replace(/[^\w-]/g, '_')}`;
  const label = el('label', { for: id }, el('span', { class: 'fname', text: name }));
  if (required) label.append(el('span', { class: 'req', title: 'required', text: ' *' }));
  if (schema.type) label.append(' ', el('span', { class: 'muted ftype', text: schema.type }));
  const help = schema.description
    ? el('small', { class: 'muted help', id: `${id}-help`, text: schema.description })
    : null;
  const problem = el('small', { class: 'field-error', id: `${id}-err`, 'aria-live': 'polite' });
  const common = { id, name, 'aria-describedby': [help?.id, problem.id].filter(Boolean).join(' ') };
  if (required) common['aria-required'] = 'true';
  let input;
  if (Array.isArray(schema.enum)) {
    input = el('select', common);
    if (!required) input.append(el('option', { value: '', text: '—' }));
    for (const v of schema.enum) input.append(el('option', { value: JSON.stringify(v), text: String(v) }));
    input.dataset.kind = 'json';
  } else if (schema.type === 'boolean') {
    input = el('input', { ...common, type: 'checkbox' });
    input.dataset.kind = 'boolean';
  } else if (schema.type === 'number' || schema.type === 'integer') {
    input = el('input', { ...common, type: 'number', step: schema.type === 'integer' ? '1' : 'any' });
    input.dataset.kind = 'number';
  } else if (schema.type === 'object' || schema.type === 'array' || (!schema.type && !schema.enum && schema.anyOf)) {
    input = el('textarea', { ...common, rows: '3', placeholder: schema.type === 'array' ? '[ ]' : '{ }' });
    input.dataset.kind = 'json';
  } else {
    input = el('input', { ...common, type: 'text' });
    input.dataset.kind = 'string';
  }
  if (schema.default !== undefined && input.type !== 'checkbox')
    input.placeholder = `default: ${JSON.stringify(schema.default)}`;
  input.dataset.required = required ? 'true' : 'false';
  const row = el('div', { class: `field ${input.type === 'checkbox' ? 'check' : ''}` }, label, input, help, problem);
  if (input.type === 'checkbox') row.prepend(input);
  return row;
}

/** A form's fields from a JSON Schema object (tools' inputSchema). */
export function schemaFields(schema) {
  const required = schema?.required ?? [];
  return Object.entries(schema?.properties ?? {}).map(([name, s]) => field(name, s, required.includes(name)));
}

function mark(input, message) {
  const problem = document.getElementById(`${input.id}-err`);
  if (problem) problem.textContent = message ?? '';
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** The form's arguments, or `problems` (each marked at its field, the first one focused). */
export function readForm(form) {
  const args = {};
  const problems = [];
  for (const input of form.querySelectorAll('[data-kind]')) {
    const k = input.dataset.kind;
    let message;
    if (k === 'boolean') args[input.name] = input.checked;
    else if (input.value.trim() === '') {
      if (input.dataset.required === 'true') message = `${input.name} is required`;
    } else if (k === 'number') {
      const n = Number(input.value);
      if (Number.isFinite(n)) args[input.name] = n;
      else message = `${input.name} must be a number`;
    } else if (k === 'json') {
      try {
        args[input.name] = JSON.parse(input.value);
      } catch (e) {
        message = `${input.name} is not valid JSON (${e.message})`;
      }
    } else args[input.name] = input.value;
    mark(input, message);
    if (message) problems.push({ input, message });
  }
  if (problems.length) problems[0].input.focus();
  return { args, problems };
}

/** Put earlier arguments back into a form (history's "Fill form"). */
export function fillForm(form, args) {
  for (const input of form.querySelectorAll('[data-kind]')) {
    const v = args?.[input.name];
    if (input.dataset.kind === 'boolean') input.checked = v === true;
    else if (v === undefined) input.value = '';
    else if (input.dataset.kind === 'json')
      input.value = input.tagName === 'SELECT' ? JSON.stringify(v) : JSON.stringify(v, null, 2);
    else input.value = String(v);
    mark(input, undefined);
  }
}

/** Ctrl/Cmd+Enter in a textarea calls, as Enter does in a text field. */
export function submitOnCtrlEnter(form) {
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && ev.target.tagName === 'TEXTAREA') {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
}
