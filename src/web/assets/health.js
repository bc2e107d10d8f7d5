// Home page: each backend card's health badge, from GET /api/backends/:b/health (the check /readyz reports).
const badges = document.querySelectorAll('.backend .health');

async function check(badge) {
  const name = badge.closest('.backend').dataset.backend;
  const res = await fetch(`/api/backends/${encodeURIComponent(name)}/health`, { credentials: 'same-origin' }).catch(
    () => undefined,
  );
  const data = res ? await res.json().catch(() => ({})) : {};
  const ok = res?.ok && data.ok === true;
  const unknown = !res?.ok;
  badge.dataset.state = unknown ? 'unknown' : ok ? 'up' : 'down';
  badge.className = `badge health ${unknown ? '' : ok ? 'ok' : 'bad'}`;
  const detail = unknown ? (data.error?.message ?? 'health unknown') : (data.detail ?? '');
  badge.textContent = unknown ? 'health unknown' : ok ? '● up' : `● down${detail ? `: ${detail}` : ''}`;
  badge.title = detail;
}

const all = () => Promise.all([...badges].map(check));
all();
setInterval(all, 30_000);
