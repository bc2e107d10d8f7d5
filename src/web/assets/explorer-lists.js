// Explorer plumbing: the REST API client, a list section's loading / error / empty states, and one call's
// "calling…" state with the elapsed time and a Cancel button.
import { el, errorBox } from './explorer-result.js';

/** `api(path, body?, signal?)` → `{ok, status, data, ms}`; a network failure or a non-JSON answer is an error too. */
export function makeApi(backend, csrf) {
  return async (path, body, signal) => {
    const started = performance.now();
    try {
      const r = await fetch(`/api/backends/${encodeURIComponent(backend)}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: body ? { 'content-type': 'application/json', 'x-csrf-token': csrf } : {},
        body: body ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
        signal,
      });
      const data = await r.json().catch(() => ({ error: { code: `HTTP_${r.status}`, message: 'not a JSON answer' } }));
      return { ok: r.ok, status: r.status, data, ms: performance.now() - started };
    } catch (e) {
      const aborted = e.name === 'AbortError';
      const error = aborted
        ? { code: 'CANCELLED', message: 'cancelled in this page (the backend may still finish the call)' }
        : { code: 'NETWORK_ERROR', message: `the proxy could not be reached (${e.message})` };
      return { ok: false, status: 0, data: { error }, ms: performance.now() - started, aborted };
    }
  };
}

/** "Loading <noun>…" in `box` (aria-busy) until it is filled. */
export function showLoading(box, noun) {
  box.setAttribute('aria-busy', 'true');
  box.dataset.state = 'loading';
  box.replaceChildren(
    el('p', { class: 'loading', role: 'status' }, el('span', { class: 'spinner' }), ` Loading ${noun}…`),
  );
}

/**
 * Fill `box` with a list: "Loading…" (aria-busy) while `fetchList()` runs, then the error with a Retry button,
 * the empty sentence, or `render(item)` for each item. Resolves to the number of items (-1 on error).
 */
export async function loadSection(box, { noun, backend, fetchList, render, countEl }) {
  showLoading(box, noun);
  const res = await fetchList();
  box.removeAttribute('aria-busy');
  box.replaceChildren();
  if (!res.ok || !Array.isArray(res.items)) {
    const retry = el('button', { type: 'button', class: 'secondary small retry', text: 'Retry' });
    retry.addEventListener('click', () => loadSection(box, { noun, backend, fetchList, render, countEl }));
    box.append(errorBox(`Could not list the ${noun} of "${backend}"`, res), retry);
    box.dataset.state = 'error';
    if (countEl) countEl.textContent = '!';
    return -1;
  }
  if (countEl) countEl.textContent = String(res.items.length);
  if (!res.items.length) {
    box.dataset.state = 'empty';
    box.append(el('p', { class: 'empty', text: `This backend has no ${noun}.` }));
    return 0;
  }
  box.dataset.state = 'loaded';
  for (const item of res.items) box.append(render(item));
  return res.items.length;
}

const SLOW_S = 10;
const SLOW_HINT =
  ' Still waiting for the backend. A tool that asks the client for something (sampling, elicitation) gets no ' +
  'answer from the explorer and ends with a timeout; Cancel stops waiting.';

/**
 * Run one call from a form: the button disabled, "Calling…" with the elapsed time, a Cancel button (aborts the
 * request), then "Done in" / "Failed after". `call(signal)` resolves to the API answer.
 */
export async function runCall({ button, status }, call) {
  const controller = new AbortController();
  const elapsed = el('span', { class: 'elapsed', 'aria-hidden': 'true', text: '0.0 s' });
  const cancel = el('button', { type: 'button', class: 'secondary small cancel', text: 'Cancel' });
  cancel.addEventListener('click', () => controller.abort());
  button.disabled = true;
  status.dataset.state = 'calling';
  status.replaceChildren(el('span', { class: 'spinner' }), ' Calling… ', elapsed, ' ', cancel);
  const started = performance.now();
  let hinted = false;
  const tick = setInterval(() => {
    const secs = (performance.now() - started) / 1000;
    elapsed.textContent = `${secs.toFixed(1)} s`;
    if (secs >= SLOW_S && !hinted) {
      hinted = true;
      status.append(el('span', { class: 'slow-hint', text: SLOW_HINT }));
    }
  }, 100);
  try {
    const res = await call(controller.signal);
    const secs = `${(res.ms / 1000).toFixed(2)} s`;
    status.dataset.state = res.ok ? 'done' : 'failed';
    status.textContent = res.ok ? `Done in ${secs}` : res.aborted ? `Cancelled after ${secs}` : `Failed after ${secs}`;
    return res;
  } finally {
    clearInterval(tick);
    button.disabled = false;
  }
}
