// Disconnect buttons of the home page and the explorer: DELETE /api/connections/:backend with the
// page's CSRF token (data-csrf of #connections), then reload to show the new state.
(() => {
  const root = document.getElementById('connections');
  if (!root) return;
  const csrf = root.dataset.csrf;
  for (const button of document.querySelectorAll('button.disconnect')) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      const res = await fetch(`/api/connections/${encodeURIComponent(button.dataset.backend)}`, {
        method: 'DELETE',
        headers: { 'x-csrf-token': csrf },
        credentials: 'same-origin',
      }).catch(() => undefined);
      if (res?.ok) return location.reload();
      button.disabled = false;
      const data = res ? await res.json().catch(() => ({})) : {};
      const message = data.error?.message ?? (res ? `HTTP ${res.status}` : 'network error');
      const note = document.createElement('span');
      note.className = 'error';
      note.setAttribute('role', 'alert');
      note.textContent = ` Disconnect failed: ${message}`;
      button.after(note);
    });
  }
})();
