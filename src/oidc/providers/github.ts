/**
 * GitHub: OAuth 2.0, not OpenID Connect — no discovery, no ID token, no nonce. The endpoints are
 * configured by hand for openid-client (which still checks state and PKCE), the identity is
 * read from the REST API with the access token:
 * - `GET /user`: `sub` = `github:<numeric id>` (stable across renames, and cannot collide with
 *   another IdP's subjects); name = the profile name, else the login;
 * - `GET /user/emails` (scope `user:email`): the primary verified address; without that scope,
 *   the profile's public email (GitHub only allows a verified address there);
 * - with `read:org` granted: groups = the user's organisations (`/user/orgs`, their logins)
 *   and teams (`/user/teams`, as `org/team-slug`). The first 100 of each are read.
 * github.com uses https://github.com/login/oauth/{authorize,access_token} and
 * https://api.github.com; another issuer (GitHub Enterprise Server) uses <issuer>/login/oauth/…
 * and <issuer>/api/v3. `oidc.endpoints` overrides any of them (userinfo = the `/user` URL; the
 * other API paths are below it). The token endpoint answers JSON only when asked
 * (openid-client sends Accept: application/json) and reports errors with status 200: those
 * are turned into 400 so openid-client reads them as the OAuth errors they are.
 */
import * as oidc from 'openid-client';
import { definePreset, issuerUrl, noProblems, standardIdentity, str } from './generic.js';
import type { Claims, OAuth2Profile, OidcSettings } from './types.js';

const API_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'mcp-oidc-proxy',
};

export function githubEndpoints(s: OidcSettings): { authorization: string; token: string; userinfo: string } {
  const origin = issuerUrl(s)?.origin ?? 'https://github.com';
  const api = origin === 'https://github.com' ? 'https://api.github.com' : `${origin}/api/v3`;
  return {
    authorization: s.endpoints?.authorization ?? `${origin}/login/oauth/authorize`,
    token: s.endpoints?.token ?? `${origin}/login/oauth/access_token`,
    userinfo: s.endpoints?.userinfo ?? `${api}/user`,
  };
}

const grants = (scope: string | undefined, wanted: RegExp) => (scope ?? '').split(/[\s,]+/).some((x) => wanted.test(x));

async function api<T>(cfg: oidc.Configuration, token: string, url: string, optional = false): Promise<T | undefined> {
  const res = await oidc.fetchProtectedResource(cfg, token, new URL(url), 'GET', undefined, new Headers(API_HEADERS));
  if (res.ok) return (await res.json()) as T;
  await res.body?.cancel();
  if (optional && (res.status === 403 || res.status === 404)) return undefined;
  throw new Error(`GitHub API ${new URL(url).pathname} answered ${res.status}`);
}

interface GithubUser {
  id: number;
  login: string;
  name?: string | null;
  email?: string | null;
}
interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}
interface GithubTeam {
  slug: string;
  organization?: { login?: string };
}

const profile: OAuth2Profile = {
  metadata(s) {
    const e = githubEndpoints(s);
    return {
      issuer: s.issuer,
      authorization_endpoint: e.authorization,
      token_endpoint: e.token,
      token_endpoint_auth_methods_supported: ['client_secret_post'],
    };
  },
  async userinfo(cfg, token, s, granted) {
    const base = githubEndpoints(s).userinfo;
    const user = (await api<GithubUser>(cfg, token, base))!;
    const scope = granted ?? s.scopes.join(' ');
    const emails = grants(scope, /^(user|user:email)$/)
      ? await api<GithubEmail[]>(cfg, token, `${base}/emails?per_page=100`, true)
      : undefined;
    const primary = emails?.find((e) => e.primary && e.verified)?.email;
    const groups: string[] = [];
    if (grants(scope, /^(read|write|admin):org$/)) {
      const orgs = (await api<Array<{ login: string }>>(cfg, token, `${base}/orgs?per_page=100`, true)) ?? [];
      const teams = (await api<GithubTeam[]>(cfg, token, `${base}/teams?per_page=100`, true)) ?? [];
      groups.push(
        ...orgs.map((o) => o.login),
        ...teams.filter((t) => t.organization?.login).map((t) => `${t.organization!.login}/${t.slug}`),
      );
    }
    const claims: Claims = {
      sub: `github:${user.id}`,
      preferred_username: user.login,
      name: str(user.name) ?? user.login,
      email: primary ?? str(user.email),
      groups: [...new Set(groups)],
    };
    return claims;
  },
  wrapFetch: (f) => async (url, options) => {
    const res = await f(url, options);
    if (res.status !== 200 || options.method !== 'POST' || !(res.headers.get('content-type') ?? '').includes('json'))
      return res;
    const body = (await res.json()) as Record<string, unknown>;
    return new Response(JSON.stringify(body), {
      status: typeof body.error === 'string' ? 400 : 200,
      headers: { 'content-type': 'application/json' },
    });
  },
};

export const github = definePreset({
  name: 'github',
  uses: ['endpoints'],
  defaultScopes: () => ['read:user', 'user:email'],
  // The identity comes from the API; `groups` is where userinfo() puts orgs and teams.
  claims: (idToken, userinfo, s) => standardIdentity(idToken, userinfo, { ...s, groupsClaim: 'groups' }),
  validateConfig(s) {
    const out = noProblems();
    const oidcOnly = s.scopes.filter((x) => ['openid', 'profile', 'email', 'offline_access'].includes(x));
    if (oidcOnly.length)
      out.warnings.push(
        `GitHub is not an OpenID Provider: ${oidcOnly.join(', ')} are not GitHub scopes (use read:user, ` +
          'user:email, read:org)',
      );
    if (!grants(s.scopes.join(' '), /^(read|write|admin):org$/))
      out.warnings.push('without the read:org scope GitHub logins have no groups (organisations and teams)');
    return out;
  },
  oauth2: profile,
});
