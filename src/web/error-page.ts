/**
 * The HTML error page browsers get (in the console's shell, html.ts): what the error means in plain words,
 * what to do next (log in again, ask an administrator for a group, go home) and the request id
 * that finds the request's lines in the proxy's log.
 */
import { escapeHtml, narrowPage } from './html.js';

export interface ErrorPageFacts {
  status: number;
  code: string;
  /** The coded message, already stripped of anything not exposed. */
  message: string;
  requestId: string;
  /** The path asked for (a same-origin path: where "log in again" returns to). */
  path: string;
  signedIn: boolean;
  /** A denied backend: the groups its allow list admits (empty when it admits by other lists only). */
  backend?: { name: string; groups: string[] };
  /** UPSTREAM_CONNECTION_REQUIRED: where the user connects the backend. */
  connectUrl?: string;
}

type Step = string;
interface Explained {
  title: string;
  explain: string;
  steps(f: ErrorPageFacts): Step[];
}

const home = (): Step => '<a href="/" id="go-home">Go back to the home page</a> to see what you can use.';
const login = (f: ErrorPageFacts, what = 'Log in again', then = ', then try once more.'): Step =>
  `<a href="/oauth/login?returnTo=${encodeURIComponent(f.path)}" id="log-in">${what}</a>${then}`;
const retry = 'Wait a moment and reload this page.';
const tellAdmin = 'If it keeps happening, give the request id below to your administrator.';

const forbidden: Explained = {
  title: 'You do not have access',
  explain: 'You are logged in, but the proxy’s policy does not let you use this.',
  steps: (f) => {
    const groups = f.backend?.groups ?? [];
    const ask = groups.length
      ? `Ask an administrator to add you to ${groups.length > 1 ? 'one of the groups' : 'the group'} ` +
        `${groups.map((g) => `<code class="group">${escapeHtml(g)}</code>`).join(', ')}` +
        (f.backend
          ? ` (backend <code>${escapeHtml(f.backend.name)}</code> admits ${groups.length > 1 ? 'them' : 'it'}).`
          : '.')
      : 'Ask an administrator for access' +
        (f.backend ? ` to backend <code>${escapeHtml(f.backend.name)}</code>.` : ', quoting the request id below.');
    return [ask, 'Logged in as the wrong person? Log out on the home page and log in again.', home()];
  },
};

const EXPLAINED: Record<string, Explained> = {
  UNAUTHENTICATED: {
    title: 'Please log in',
    explain: 'This page needs you to be logged in, and this browser has no valid session (it may have expired).',
    steps: (f) => [login(f, 'Log in', '.'), home()],
  },
  INVALID_TOKEN: {
    title: 'Your credentials expired',
    explain: 'The token or session sent with this request is no longer valid.',
    steps: (f) => [login(f), home()],
  },
  FORBIDDEN: forbidden,
  LOGIN_REFUSED: {
    title: 'Login refused',
    explain: 'Your identity provider knows you, but this proxy does not admit your account.',
    steps: () => ['Ask an administrator to admit your account (quote the request id below).', home()],
  },
  CSRF_FAILED: {
    title: 'This form is out of date',
    explain: 'The request did not carry the anti-forgery token of your current session, so it was refused.',
    steps: () => ['Go back, reload the page and try again.', home()],
  },
  ORIGIN_FORBIDDEN: {
    title: 'Request from another site refused',
    explain: 'The request came from a web origin this proxy does not trust.',
    steps: () => ['Open the proxy at its own address and try again from there.', home()],
  },
  HOST_FORBIDDEN: {
    title: 'Wrong address',
    explain: 'This proxy answers only on its configured address.',
    steps: () => ['Open the proxy at the address your administrator gave you.'],
  },
  LOGIN_FAILED: {
    title: 'Login did not complete',
    explain:
      'The answer from the identity provider could not be accepted (the login may have been cancelled, ' +
      'taken too long, or been opened in another tab).',
    steps: (f) => [login({ ...f, path: '/' }, 'Start the login again', '.'), tellAdmin],
  },
  IDP_UNAVAILABLE: {
    title: 'The identity provider cannot be reached',
    explain: 'The proxy could not talk to the login service it relies on.',
    steps: () => [retry, tellAdmin],
  },
  BACKEND_UNAVAILABLE: {
    title: 'The MCP server is not answering',
    explain: 'The server behind the proxy could not be reached or broke off.',
    steps: () => [retry, home(), tellAdmin],
  },
  BACKEND_TLS: {
    title: 'The MCP server cannot be reached securely',
    explain: 'The secure (TLS) connection to the server behind the proxy failed: its certificate or ours was refused.',
    steps: () => [tellAdmin],
  },
  BACKEND_TIMEOUT: {
    title: 'The MCP server took too long',
    explain: 'The server behind the proxy did not answer in time.',
    steps: () => [retry, tellAdmin],
  },
  BACKEND_BUSY: {
    title: 'The MCP server is busy',
    explain: 'The server behind the proxy is at its limit of processes.',
    steps: () => [retry],
  },
  STORE_UNAVAILABLE: {
    title: 'Temporarily unavailable',
    explain: 'The proxy cannot reach its session store right now.',
    steps: () => [retry, tellAdmin],
  },
  RATE_LIMITED: {
    title: 'Too many requests',
    explain: 'You sent more requests than this proxy allows in a short time.',
    steps: () => ['Wait a minute, then try again.'],
  },
  UPSTREAM_CONNECTION_REQUIRED: {
    title: 'Connect your account first',
    explain: 'This backend acts as you with your own account there, and that account is not connected yet.',
    steps: (f) => [
      f.connectUrl && /^(https?:\/\/|\/)/.test(f.connectUrl)
        ? `<a href="${escapeHtml(f.connectUrl)}" id="connect">Connect it</a>, then try again.`
        : home(),
    ],
  },
  NOT_IMPLEMENTED: {
    title: 'Not available here',
    explain: 'This proxy is not configured for what you asked.',
    steps: () => ['Ask your administrator; the message above says what is missing.', home()],
  },
  INTERNAL: {
    title: 'Something went wrong',
    explain: 'The proxy failed to handle this request. It is not something you did.',
    steps: () => [retry, tellAdmin],
  },
};

const BY_STATUS: Record<number, Explained> = {
  400: {
    title: 'Bad request',
    explain: 'The proxy could not make sense of this request.',
    steps: () => ['Check the link or form you used.', home()],
  },
  404: {
    title: 'Page not found',
    explain: 'There is nothing at this address (or nothing you may know of).',
    steps: () => ['Check the address for typos.', home()],
  },
  405: {
    title: 'Not something a browser can open',
    explain: 'This address exists, but not for this kind of request.',
    steps: () => [home()],
  },
  403: forbidden,
};

function explained(f: ErrorPageFacts): Explained {
  const byCode = EXPLAINED[f.code];
  if (byCode) return byCode;
  if (BY_STATUS[f.status]) return BY_STATUS[f.status]!;
  return f.status >= 500 ? EXPLAINED.INTERNAL! : BY_STATUS[400]!;
}

const STYLE = `<style>
.status{font-size:.85rem;letter-spacing:.04em;color:var(--muted);text-transform:uppercase;margin:0}
.steps li{margin:.3rem 0}#error-message,.rid{color:var(--muted)}.rid{font-size:.9rem}.rid code{user-select:all}
.group{font-weight:600}.next h2{font-size:1.05rem;margin:0}
</style>`;

export function errorPageHtml(f: ErrorPageFacts, e: Explained = explained(f)): string {
  const steps = e.steps(f).filter((s) => !(s.includes('id="go-home"') && f.path === '/'));
  const code = `<span id="error-code">${escapeHtml(f.code)}</span>`;
  const body = `${STYLE}<p class="status">Error ${f.status} · ${code}</p>
<h1 id="error-title">${escapeHtml(e.title)}</h1>
<p id="error-explain">${escapeHtml(e.explain)}</p>
<p id="error-message">${escapeHtml(f.message)}</p>
<div class="card next"><h2>What to do next</h2>
<ul class="steps" id="error-steps">${steps.map((s) => `<li>${s}</li>`).join('')}</ul></div>
<p class="rid">Request id: <code id="request-id">${escapeHtml(f.requestId)}</code> — it finds this request in the
proxy’s log; quote it when you ask for help.${f.signedIn ? '' : ' You are not logged in.'}</p>`;
  return narrowPage(`${e.title} (${f.status})`, body);
}

const OAUTH: Explained = {
  title: 'This sign-in request cannot be accepted',
  explain:
    'The application that sent you here (an MCP client) asked this proxy’s authorization server for ' +
    'something it does not allow, such as an unregistered redirect address.',
  steps: () => [
    'Go back to the application and connect again.',
    'If it keeps happening, the application’s registration needs fixing: give the error code and the ' +
      'request id below to whoever runs it or this proxy.',
    home(),
  ],
};

/** The authorization server's error page (oidc-provider's renderError): the OAuth error code and description. */
export function oauthErrorPageHtml(status: number, error: string, description: string, requestId: string): string {
  const code = error || 'server_error';
  const facts = { status, code, message: description || code, requestId, path: '/', signedIn: true };
  return errorPageHtml(facts, status >= 500 ? EXPLAINED.INTERNAL! : OAUTH);
}
