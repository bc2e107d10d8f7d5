/**
 * A stand-in for GitHub, on loopback: github.com cannot be reached from the tests, so this tiny
 * real HTTP server implements the parts of GitHub's OAuth 2.0 and REST API the github preset
 * uses, the way GitHub documents and answers them:
 * - `GET /login/oauth/authorize` (client_id, redirect_uri, scope, state, code_challenge):
 *   a sign-in page (form with username/password), `POST` → redirect_uri?code&state;
 * - `POST /login/oauth/access_token`: client_id + client_secret in the form body; JSON only when
 *   `Accept: application/json`, form-encoded otherwise; errors answered with status 200 and an
 *   `error` field (bad_verification_code, incorrect_client_credentials, redirect_uri_mismatch);
 *   PKCE S256 checked; the granted `scope` comma-separated;
 * - `GET /api/user`, `/api/user/emails` (needs user:email), `/api/user/orgs`, `/api/user/teams`
 *   (needs read:org): Bearer or `token` authorization, and a User-Agent (403 without, as GitHub).
 * Every request is recorded for assertions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubUser {
  login: string;
  password: string;
  id: number;
  name: string | null;
  publicEmail: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
  orgs: string[];
  teams: Array<{ org: string; slug: string }>;
}

export interface GithubStandin {
  origin: string;
  endpoints: { authorization: string; token: string; userinfo: string };
  requests: Array<{
    method: string;
    path: string;
    query: URLSearchParams;
    headers: IncomingMessage['headers'];
    body?: string;
  }>;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));

export async function startGithubStandin(opts: {
  clientId: string;
  clientSecret: string;
  callback: string;
  users: GithubUser[];
}): Promise<GithubStandin> {
  const codes = new Map<string, { user: GithubUser; scope: string; redirectUri: string; challenge?: string }>();
  const tokens = new Map<string, { user: GithubUser; scopes: string[] }>();
  const requests: GithubStandin['requests'] = [];

  const authorize = (res: ServerResponse, q: URLSearchParams) => {
    if (q.get('client_id') !== opts.clientId) return res.writeHead(404).end('unknown client');
    const redirect = q.get('redirect_uri') ?? opts.callback;
    if (!redirect.startsWith(opts.callback))
      return res.writeHead(400).end('The redirect_uri MUST match the registered callback URL for this application.');
    const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        '<!doctype html><title>Sign in to GitHub</title><form method="post" action="/login/oauth/authorize">' +
          `${hidden}<input name="username"><input name="password" type="password">` +
          '<button type="submit">Sign in</button></form>',
      );
  };

  const grant = (res: ServerResponse, q: URLSearchParams) => {
    const user = opts.users.find((u) => u.login === q.get('username') && u.password === q.get('password'));
    if (!user) return res.writeHead(401, { 'content-type': 'text/html' }).end('<p>Incorrect username or password.</p>');
    const code = randomBytes(10).toString('hex');
    const redirectUri = q.get('redirect_uri') ?? opts.callback;
    codes.set(code, {
      user,
      scope: q.get('scope') ?? '',
      redirectUri,
      challenge: q.get('code_challenge') ?? undefined,
    });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    if (q.get('state')) back.searchParams.set('state', q.get('state')!);
    res.writeHead(302, { location: back.href }).end();
  };

  const token = (req: IncomingMessage, res: ServerResponse, body: URLSearchParams) => {
    const reply = (fields: Record<string, string>) =>
      (req.headers.accept ?? '').includes('application/json')
        ? json(res, 200, fields)
        : res
            .writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
            .end(new URLSearchParams(fields).toString());
    const fail = (error: string, error_description: string) =>
      reply({ error, error_description, error_uri: `https://docs.github.com/apps/troubleshooting#${error}` });
    if (body.get('client_id') !== opts.clientId || body.get('client_secret') !== opts.clientSecret)
      return fail('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
    const code = codes.get(body.get('code') ?? '');
    codes.delete(body.get('code') ?? '');
    if (!code) return fail('bad_verification_code', 'The code passed is incorrect or expired.');
    if (body.get('redirect_uri') && body.get('redirect_uri') !== code.redirectUri)
      return fail(
        'redirect_uri_mismatch',
        'The redirect_uri MUST match the registered callback URL for this application.',
      );
    const verifier = body.get('code_verifier');
    if (code.challenge && (!verifier || createHash('sha256').update(verifier).digest('base64url') !== code.challenge))
      return fail('bad_verification_code', 'The code_verifier does not match the code_challenge.');
    const scopes = code.scope.split(/[\s,]+/).filter(Boolean);
    const access = `gho_${randomBytes(16).toString('hex')}`;
    tokens.set(access, { user: code.user, scopes });
    reply({ access_token: access, token_type: 'bearer', scope: scopes.join(',') });
  };

  const api = (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (!req.headers['user-agent'])
      return json(res, 403, {
        message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header',
      });
    const m = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '');
    const t = m ? tokens.get(m[1]!) : undefined;
    if (!t)
      return json(res, 401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
    const has = (...s: string[]) => s.some((x) => t.scopes.includes(x));
    const headers = { 'x-oauth-scopes': t.scopes.join(', ') };
    const u = t.user;
    if (path === '/api/user')
      return json(
        res,
        200,
        { login: u.login, id: u.id, node_id: `U_${u.id}`, type: 'User', name: u.name, email: u.publicEmail },
        headers,
      );
    if (path === '/api/user/emails')
      return has('user', 'user:email')
        ? json(
            res,
            200,
            u.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
            headers,
          )
        : json(res, 404, { message: 'Not Found' }, headers);
    if (path === '/api/user/orgs')
      return json(
        res,
        200,
        (has('read:org', 'admin:org') ? u.orgs : []).map((login, i) => ({ login, id: 1000 + i })),
        headers,
      );
    if (path === '/api/user/teams')
      return has('read:org', 'admin:org')
        ? json(
            res,
            200,
            u.teams.map((x, i) => ({ id: 2000 + i, slug: x.slug, name: x.slug, organization: { login: x.org } })),
            headers,
          )
        : json(res, 403, { message: 'Resource not accessible by integration' }, headers);
    return json(res, 404, { message: 'Not Found' });
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    let body = '';
    for await (const chunk of req) body += chunk;
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: body || undefined,
    });
    const form = new URLSearchParams(body);
    if (url.pathname === '/login/oauth/authorize')
      return req.method === 'POST' ? grant(res, form) : authorize(res, url.searchParams);
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') return token(req, res, form);
    if (url.pathname.startsWith('/api/') && req.method === 'GET') return api(req, res, url.pathname);
    json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    endpoints: {
      authorization: `${origin}/login/oauth/authorize`,
      token: `${origin}/login/oauth/access_token`,
      userinfo: `${origin}/api/user`,
    },
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
