/**
 * Headless browser-ish login for tests: fetch with `redirect: 'manual'`, a cookie jar, and
 * automatic submission of the forms a login flow shows (login, consent, logout confirm,
 * auto-submitting form_post pages). Generic: it drives the dev IdP directly, or the proxy's
 * `/oauth/login` → IdP → `/oauth/callback`.
 */

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires?: number; // epoch ms
  secure: boolean;
}

/**
 * A tiny cookie jar. Cookies are keyed by host name, not port, as browsers do: two
 * servers on one host (the proxy and an IdP) see each other's cookies.
 */
export class CookieJar {
  #byHost = new Map<string, Map<string, StoredCookie>>();

  /** Stores every Set-Cookie of a response to a request for `url`. */
  setFromResponse(url: string | URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) this.set(url, header);
  }

  /** Stores one Set-Cookie header value. */
  set(url: string | URL, header: string): void {
    const u = new URL(url);
    const [pair = '', ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      path: u.pathname.slice(0, u.pathname.lastIndexOf('/')) || '/', // RFC 6265 default-path
      secure: false,
    };
    let maxAge: number | undefined;
    for (const attr of attrs) {
      const [k = '', ...rest] = attr.split('=');
      const v = rest.join('=').trim();
      const key = k.trim().toLowerCase();
      if (key === 'path' && v.startsWith('/')) cookie.path = v;
      else if (key === 'max-age' && /^-?\d+$/.test(v)) maxAge = Number(v);
      else if (key === 'expires' && !Number.isNaN(Date.parse(v))) cookie.expires = Date.parse(v);
      else if (key === 'secure') cookie.secure = true;
    }
    if (maxAge !== undefined) cookie.expires = Date.now() + maxAge * 1000; // Max-Age wins
    const jar = this.#byHost.get(u.hostname) ?? new Map<string, StoredCookie>();
    this.#byHost.set(u.hostname, jar);
    const id = `${cookie.path}\n${cookie.name}`;
    if (cookie.expires !== undefined && cookie.expires <= Date.now()) jar.delete(id);
    else jar.set(id, cookie);
  }

  /** The cookies a request to `url` carries, longest path first. */
  cookies(url: string | URL): Array<{ name: string; value: string; path: string }> {
    const u = new URL(url);
    const now = Date.now();
    const secureOk = u.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    const jar = this.#byHost.get(u.hostname);
    if (!jar) return [];
    return [...jar.values()]
      .filter(
        (c) =>
          (c.expires === undefined || c.expires > now) && (!c.secure || secureOk) && pathMatches(u.pathname, c.path),
      )
      .sort((a, b) => b.path.length - a.path.length)
      .map(({ name, value, path }) => ({ name, value, path }));
  }

  /** The Cookie header for `url`, or undefined when there is none. */
  header(url: string | URL): string | undefined {
    const list = this.cookies(url);
    return list.length ? list.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  get(url: string | URL, name: string): string | undefined {
    return this.cookies(url).find((c) => c.name === name)?.value;
  }

  clear(): void {
    this.#byHost.clear();
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

/** A form found in an HTML page. */
export interface ParsedForm {
  method: 'GET' | 'POST';
  action: string; // absolute
  fields: Record<string, string>; // named inputs with their values (hidden ones included)
  inputNames: string[];
  buttons: Array<{ name?: string; value?: string; text: string }>;
}

const decode = (s: string) =>
  s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1]!.toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Every form of an HTML page, with relative actions resolved against `pageUrl`. */
export function parseForms(html: string, pageUrl: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]!);
    const inner = m[2]!;
    const form: ParsedForm = {
      method: attrs.method?.toUpperCase() === 'POST' ? 'POST' : 'GET',
      action: new URL(attrs.action || pageUrl, pageUrl).href,
      fields: {},
      inputNames: [],
      buttons: [],
    };
    for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1]!);
      if (!a.name) continue;
      form.inputNames.push(a.name);
      const type = (a.type ?? 'text').toLowerCase();
      if (type === 'submit' || type === 'button')
        form.buttons.push({ name: a.name, value: a.value, text: a.value ?? '' });
      else if ((type !== 'checkbox' && type !== 'radio') || 'checked' in a) form.fields[a.name] = a.value ?? '';
    }
    for (const button of inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      const a = attributes(button[1]!);
      if ((a.type ?? 'submit').toLowerCase() !== 'submit') continue;
      form.buttons.push({ name: a.name, value: a.value, text: decode(button[2]!.replace(/<[^>]*>/g, '')).trim() });
    }
    forms.push(form);
  }
  return forms;
}

type FormKind = 'login' | 'consent' | 'logout' | 'autosubmit';

/** Which known kind of login-flow form this is, if any. */
export function classifyForm(form: ParsedForm, html: string): FormKind | undefined {
  if (form.inputNames.includes('username')) return 'login';
  if (form.inputNames.includes('logout') || form.inputNames.includes('xsrf')) return 'logout';
  const path = new URL(form.action).pathname;
  const label = form.buttons.map((b) => b.text).join(' ');
  if (/\/(confirm|consent)$/.test(path) || /^\s*(allow|approve|authori[sz]e|accept)\b/i.test(label)) return 'consent';
  if (/document\.forms\[0\]\.submit\(\)/.test(html)) return 'autosubmit';
  return undefined;
}

export interface HeadlessLoginOptions {
  startUrl: string;
  username: string;
  password: string;
  jar: CookieJar;
  fetch?: typeof fetch;
  /** Stop (without fetching it) when the next URL to visit matches, e.g. the client's redirect_uri. */
  stopAt?: (url: URL) => boolean;
  /** Decide for a form the helper does not recognize (or override it): true submits it. */
  submitForm?: (form: ParsedForm, pageUrl: string) => boolean | undefined;
  maxHops?: number;
  headers?: Record<string, string>;
}

export interface HeadlessLoginResult {
  /** The last URL visited (or the one `stopAt` matched). */
  finalUrl: string;
  /** Its response; for the last page the body is still readable. */
  response: Response;
  /** `METHOD url` of every request made, in order. */
  hops: string[];
  /** The last page's body when it was read to look for forms. */
  body?: string;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/** Follows redirects and submits login-flow forms until a page that is neither. */
export async function headlessLogin(opts: HeadlessLoginOptions): Promise<HeadlessLoginResult> {
  const doFetch = opts.fetch ?? fetch;
  const hops: string[] = [];
  let url = new URL(opts.startUrl);
  let method = 'GET';
  let body: string | undefined;
  let origin: string | undefined; // of the page whose form is being submitted
  let loggedIn = false;
  let last: Response | undefined;
  for (let i = 0; i < (opts.maxHops ?? 40); i += 1) {
    if (last && opts.stopAt?.(url)) return { finalUrl: url.href, response: last, hops };
    hops.push(`${method} ${url.href}`);
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...opts.headers };
    const cookie = opts.jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      if (origin) headers.origin ??= origin;
    }
    const res = await doFetch(url, { method, headers, body, redirect: 'manual' });
    opts.jar.setFromResponse(url, res);
    last = res;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      if (res.status !== 307 && res.status !== 308) [method, body] = ['GET', undefined];
      continue;
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('html')) return { finalUrl: url.href, response: res, hops };
    const html = await res.text();
    const init = { status: res.status, statusText: res.statusText, headers: res.headers };
    const page = new Response(NULL_BODY.has(res.status) ? null : html, init);
    const next = pickForm(parseForms(html, url.href), html, url.href, opts, loggedIn);
    if (!next) return { finalUrl: url.href, response: page, hops, body: html };
    if (next.kind === 'login') loggedIn = true;
    const fields = new URLSearchParams(next.fields);
    origin = url.origin;
    if (next.form.method === 'POST') {
      [url, method, body] = [new URL(next.form.action), 'POST', fields.toString()];
    } else {
      url = new URL(next.form.action);
      url.search = fields.toString();
      [method, body] = ['GET', undefined];
    }
  }
  throw new Error(`headlessLogin: more than ${opts.maxHops ?? 40} hops:\n${hops.join('\n')}`);
}

function pickForm(forms: ParsedForm[], html: string, pageUrl: string, opts: HeadlessLoginOptions, loggedIn: boolean) {
  for (const form of forms) {
    const kind = classifyForm(form, html);
    const decided = opts.submitForm?.(form, pageUrl);
    if (decided === false || (decided === undefined && !kind)) continue;
    // A login form again after submitting credentials: wrong password, stop here.
    if (kind === 'login' && loggedIn) return undefined;
    const fields = { ...form.fields };
    if (kind === 'login') Object.assign(fields, { username: opts.username, password: opts.password });
    const button = form.buttons[0];
    if (button?.name) fields[button.name] = button.value ?? '';
    return { form, kind, fields };
  }
  return undefined;
}
