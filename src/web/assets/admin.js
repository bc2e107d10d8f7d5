// The admin console (/admin): fills a table per kind from /admin/api/* and wires the revoke/end
// buttons (DELETE with the page's CSRF token, data-csrf of #admin). No inline script (CSP).
(() => {
  const root = document.getElementById('admin');
  if (!root) return;
  const csrf = root.dataset.csrf;
  const enc = encodeURIComponent;

  const cell = (value) => {
    const td = document.createElement('td');
    if (Array.isArray(value)) td.textContent = value.join(', ');
    else if (value === null || value === undefined || value === '') td.textContent = '—';
    else td.textContent = String(value);
    return td;
  };

  async function api(method, path) {
    const res = await fetch(path, {
      method,
      headers: method === 'GET' ? {} : { 'x-csrf-token': csrf },
      credentials: 'same-origin',
    }).catch(() => undefined);
    const data = res ? await res.json().catch(() => ({})) : {};
    if (!res?.ok) throw new Error(data.error?.message ?? (res ? `HTTP ${res.status}` : 'network error'));
    return data;
  }

  /** Renders `rows` into section `id`: one column per [key, label], and a button when `action` is given. */
  function render(id, rows, columns, action) {
    const box = document.querySelector(`#${id} .rows`);
    box.replaceChildren();
    if (!rows.length) {
      const p = document.createElement('p');
      p.className = 'muted empty';
      p.textContent = 'None.';
      box.append(p);
      return;
    }
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const [, label] of columns) {
      const th = document.createElement('th');
      th.textContent = label;
      head.append(th);
    }
    if (action) head.append(document.createElement('th'));
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.dataset.id = row.id;
      for (const [key, label] of columns) {
        const td = cell(row[key]);
        td.dataset.label = label;
        tr.append(td);
      }
      if (!action) continue;
      const td = document.createElement('td');
      const can = action.when ? action.when(row) : true;
      if (can) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'danger';
        button.textContent = action.label;
        button.addEventListener('click', async () => {
          button.disabled = true;
          try {
            await api('DELETE', action.path(row));
            tr.remove();
            if (!body.rows.length) render(id, [], columns, action);
          } catch (e) {
            button.disabled = false;
            const note = document.createElement('span');
            note.className = 'error';
            note.setAttribute('role', 'alert');
            note.textContent = ` ${action.label} failed: ${e.message}`;
            td.append(note);
          }
        });
        td.append(button);
      }
      tr.append(td);
    }
    box.append(table);
  }

  function failed(id, e) {
    const box = document.querySelector(`#${id} .rows`);
    const p = document.createElement('p');
    p.className = 'error';
    p.setAttribute('role', 'alert');
    p.textContent = e.message;
    box.replaceChildren(p);
  }

  async function load(id, path, columns, action) {
    try {
      render(id, (await api('GET', path))[id === 'keys' ? 'keys' : id], columns, action);
    } catch (e) {
      failed(id, e);
    }
  }

  const CLIENT_COLUMNS = [
    ['id', 'Client id'],
    ['name', 'Name'],
    ['kind', 'Kind'],
    ['redirectUris', 'Redirect URIs'],
    ['createdAt', 'Registered'],
  ];
  const KEY_COLUMNS = [
    ['name', 'Name'],
    ['kind', 'Kind'],
    ['subject', 'Subject'],
    ['groups', 'Groups'],
    ['lastUsed', 'Last used'],
  ];
  const GRANT_COLUMNS = [
    ['id', 'Grant'],
    ['clientId', 'Client'],
    ['scopes', 'Scopes'],
    ['createdAt', 'Granted'],
    ['expiresAt', 'Expires'],
  ];
  const SESSION_COLUMNS = [
    ['id', 'Session'],
    ['createdAt', 'Signed in'],
    ['expiresAt', 'Expires'],
    ['userAgent', 'Browser'],
  ];
  const CONNECTION_COLUMNS = [
    ['backend', 'Backend'],
    ['scopes', 'Scopes'],
    ['issuer', 'Authorization server'],
    ['connectedAt', 'Connected'],
  ];

  function loadUser(user) {
    const u = enc(user);
    void load('grants', `/admin/api/grants?user=${u}`, GRANT_COLUMNS, {
      label: 'Revoke',
      path: (r) => `/admin/api/grants/${enc(r.id)}`,
    });
    void load('sessions', `/admin/api/sessions?user=${u}`, SESSION_COLUMNS, {
      label: 'End',
      path: (r) => `/admin/api/sessions/${enc(r.id)}`,
    });
    void load('connections', `/admin/api/connections?user=${u}`, CONNECTION_COLUMNS, {
      label: 'Remove',
      path: (r) => `/admin/api/connections/${enc(r.user)}/${enc(r.backend)}`,
    });
  }

  void load('clients', '/admin/api/clients', CLIENT_COLUMNS, {
    label: 'Revoke',
    when: (r) => r.kind === 'registered',
    path: (r) => `/admin/api/clients/${enc(r.id)}`,
  });
  void load('keys', '/admin/api/keys', KEY_COLUMNS);
  const input = document.getElementById('user');
  input.value = new URLSearchParams(location.search).get('user') ?? root.dataset.user ?? '';
  document.getElementById('user-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const url = new URL(location.href);
    url.searchParams.set('user', input.value);
    history.replaceState(null, '', url);
    loadUser(input.value);
  });
  if (input.value) loadUser(input.value);
})();
