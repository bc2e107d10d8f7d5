/** Log a user in through the real proxy and IdP, and talk MCP with the resulting cookie. */
import { CookieJar, headlessLogin } from './login.js';

export async function loginThroughProxy(proxyUrl: string, username = 'alice', password = username, returnTo = '/') {
  const jar = new CookieJar();
  const result = await headlessLogin({
    startUrl: `${proxyUrl}/oauth/login?returnTo=${encodeURIComponent(returnTo)}`,
    username,
    password,
    jar,
  });
  return { jar, result, cookie: jar.header(`${proxyUrl}/`) ?? '' };
}

export const MCP_ACCEPT = 'application/json, text/event-stream';

export function rpc(method: string, params: unknown = {}, id: number | string = 1) {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}

export const INITIALIZE = rpc('initialize', {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'test', version: '1' },
});

/** Parse a JSON or single-event SSE response body into its JSON-RPC message. */
export async function readRpc(res: Response): Promise<any> {
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim());
    return JSON.parse(data.at(-1)!);
  }
  return JSON.parse(text);
}

/** An initialized MCP session over plain fetch: returns a caller bound to the session id. */
export async function mcpSession(url: string, headers: Record<string, string>) {
  const base = { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers };
  const init = await fetch(url, { method: 'POST', headers: base, body: INITIALIZE });
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status} ${await init.text()}`);
  await readRpc(init);
  const sessionId = init.headers.get('mcp-session-id')!;
  const h = { ...base, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  await fetch(url, {
    method: 'POST',
    headers: h,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  let id = 10;
  return {
    sessionId,
    headers: h,
    call: (method: string, params: unknown = {}, extra: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { ...h, ...extra }, body: rpc(method, params, id++) }),
  };
}

/**
 * A session's GET stream: resolves once it is open; `next` waits
 * for the first message that matches (rejects after `withinMs`).
 */
export async function openEvents(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const res = await fetch(url, {
    method: 'GET',
    headers: { ...headers, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  if (res.status !== 200) throw new Error(`GET stream: HTTP ${res.status}`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: any[] = [];
  let buffer = '';
  return {
    messages,
    async next(match: (m: any) => boolean, withinMs = 10_000): Promise<any> {
      const deadline = setTimeout(
        () => abort.abort(new Error('no matching message on the GET stream in time')),
        withinMs,
      );
      for (;;) {
        const found = messages.find(match);
        if (found) {
          clearTimeout(deadline);
          return found;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('GET stream ended');
        buffer += value;
        const events = buffer.split('\n\n');
        buffer = events.pop()!;
        for (const e of events)
          for (const line of e.split('\n')) if (line.startsWith('data:')) messages.push(JSON.parse(line.slice(5)));
      }
    },
    close: () => abort.abort(),
  };
}

/** `/oauth/status` for a cookie. */
export async function sessionStatus(
  proxyUrl: string,
  cookie: string,
): Promise<{ authenticated: boolean; csrfToken?: string; user?: { sub: string; tenant?: string | null } }> {
  return (await (await fetch(`${proxyUrl}/oauth/status`, { headers: { cookie } })).json()) as never;
}

/**
 * `POST /oauth/logout` as the home page does (CSRF token from
 * /oauth/status), JSON answer; `everywhere` for "log out everywhere".
 */
export async function logoutThroughProxy(
  proxyUrl: string,
  cookie: string,
  opts: { everywhere?: boolean; at?: string } = {},
): Promise<Response> {
  const csrf = (await sessionStatus(proxyUrl, cookie)).csrfToken ?? '';
  return fetch(`${opts.at ?? proxyUrl}/oauth/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie,
      origin: proxyUrl,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ csrf, ...(opts.everywhere ? { everywhere: '1' } : {}) }),
  });
}
