// Theme: the saved choice (localStorage) or the system's (prefers-color-scheme), set before the page paints;
// the header's toggle switches between light and dark and remembers it.
(() => {
  const KEY = 'mcp-console-theme';
  const root = document.documentElement;
  const saved = (() => {
    try {
      return localStorage.getItem(KEY);
    } catch {
      return null;
    }
  })();
  if (saved === 'light' || saved === 'dark') root.dataset.theme = saved;
  const current = () => root.dataset.theme ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.addEventListener('DOMContentLoaded', () => {
    const button = document.getElementById('theme-toggle');
    if (!button) return;
    const label = () => {
      const next = current() === 'dark' ? 'light' : 'dark';
      button.textContent = next === 'dark' ? '☾ Dark' : '☀ Light';
      button.setAttribute('aria-label', `Switch to the ${next} theme`);
    };
    button.hidden = false;
    label();
    new MutationObserver(label).observe(root, { attributes: true, attributeFilter: ['data-theme'] });
    button.addEventListener('click', () => {
      root.dataset.theme = current() === 'dark' ? 'light' : 'dark';
      try {
        localStorage.setItem(KEY, root.dataset.theme);
      } catch {}
    });
  });
})();
