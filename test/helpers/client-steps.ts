/**
 * An MCP client's authorization as real clients send it, step by step: which `scope` (or none),
 * which callback, extra parameters, a user who denies; every hop's HTTP status is recorded.
 */
import { CookieJar, headlessLogin } from './login.js';
import { authorizeUrl, pkce, tokenRequest } from './oauth-manual.js';

export interface Authorize {
  clientId: string;
  redirect: string;
  /** undefined: no scope parameter at all. */
  scope?: string;
  jar?: CookieJar;
  /** More authorization request parameters. */
  extra?: Record<string, string>;
  /** The user denies consent. */
  deny?: boolean;
}

/** The browser part of an authorization (login, consent) up to the redirect to the client; every hop's status. */
export async function authorizeAs(meta: Record<string, string>, resource: string, a: Authorize) {
  const { verifier, challenge } = pkce();
  const url = new URL(
    authorizeUrl(meta, { client_id: a.clientId, redirect_uri: a.redirect, code_challenge: challenge, resource }),
  );
  if (a.scope === undefined) url.searchParams.delete('scope');
  else url.searchParams.set('scope', a.scope);
  for (const [k, v] of Object.entries(a.extra ?? {})) url.searchParams.set(k, v);
  const statuses: Array<{ url: string; status: number }> = [];
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    statuses.push({ url: String(input), status: res.status });
    return res;
  };
  const jar = a.jar ?? new CookieJar();
  const r = await headlessLogin({
    startUrl: url.href,
    username: 'alice',
    password: 'alice',
    jar,
    fetch: recording,
    submitForm: (form) =>
      a.deny
        ? form.action.endsWith('/abort')
          ? true
          : form.action.endsWith('/confirm')
            ? false
            : undefined
        : undefined,
    stopAt: (u) => u.href.split('?')[0] === a.redirect,
  });
  const back = new URL(r.finalUrl);
  return {
    code: back.href.split('?')[0] === a.redirect ? back.searchParams.get('code') : null,
    error: back.searchParams.get('error'),
    result: r,
    statuses,
    verifier,
    jar,
  };
}

/** The same, then the code exchanged at the token endpoint. */
export async function authorizedTokens(meta: Record<string, string>, resource: string, a: Authorize) {
  const got = await authorizeAs(meta, resource, a);
  if (!got.code) throw new Error(`no code: ${got.error} ${got.result.finalUrl}`);
  const tok = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: got.code,
    code_verifier: got.verifier,
    client_id: a.clientId,
    redirect_uri: a.redirect,
    resource,
  });
  return { ...got, tok };
}
