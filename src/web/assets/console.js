// Console pages: <time datetime> shown in the viewer's local time, and Copy buttons (data-copy = the id of the
// element whose text is copied), with a fallback where the Clipboard API is unavailable (plain http).

/** Local date and time for an ISO instant, the ISO kept as the tooltip. */
export function localTimes(root = document) {
  for (const t of root.querySelectorAll('time[datetime]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (Number.isNaN(d.getTime())) continue;
    t.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    t.title = t.getAttribute('datetime');
  }
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

document.addEventListener('click', async (ev) => {
  const button = ev.target.closest?.('button[data-copy]');
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const ok = await copyText(source.textContent);
  button.textContent = ok ? 'Copied' : 'Copy failed';
  button.dataset.copied = ok ? 'true' : 'false';
  setTimeout(() => {
    button.textContent = 'Copy';
    delete button.dataset.copied;
  }, 1500);
});

localTimes();
