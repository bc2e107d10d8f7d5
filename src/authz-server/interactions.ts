/**
 * Where the authorization server meets the user: `/interaction/:uid`. No proxy session → the
 * browser login (`/oauth/login`, upstream IdP) and back. Then a consent page per client
 * (name, redirect host, scopes, resource; CSRF token; never framed), remembered per user and
 * client: the confused-deputy defence the MCP security best practices ask of proxies.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { Errors } from '../errors.js';
import type { Principal } from '../identity/principal.js';
import { assertCsrf } from '../security/csrf.js';
import type { Store } from '../store/index.js';
import { escapeHtml, narrowPage } from '../web/html.js';
import type { AccountClaims } from './provider.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
interface Opts {
  provider: Provider;
  store: Store;
  rememberMs: number;
  /** A grant was given or extended by `p` (a browser session): the upstream login is kept with it. */
  onGrant?(grantId: string, p: Principal): Promise<void>;
}

export async function asInteractions(app: FastifyInstance, opts: Opts): Promise<void> {
  const { provider, store, rememberMs } = opts;
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const consentKey = (sub: string, clientId: string) => `as:consent:${sub}:${clientId}`;

  async function details(req: FastifyRequest, reply: FastifyReply): Promise<Details> {
    try {
      return await provider.interactionDetails(req.raw, reply.raw);
    } catch {
      throw new Errors.LOGIN_FAILED(
        'this sign-in request has expired or was already used: start again from your MCP client',
      );
    }
  }

  /** The browser session's user, or a redirect to log in and come back here. */
  function userOrLogin(req: FastifyRequest, reply: FastifyReply, uid: string): Principal | undefined {
    const p = req.principal;
    if (p?.source === 'session') return p;
    void reply.redirect(`/oauth/login?returnTo=${encodeURIComponent(`/interaction/${uid}`)}`, 303);
    return undefined;
  }

  async function finish(req: FastifyRequest, reply: FastifyReply, result: Record<string, unknown>) {
    const url = await provider.interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: true });
    return reply.header('cache-control', 'no-store').redirect(url, 303);
  }

  async function grantConsent(d: Details, p: Principal): Promise<string> {
    const clientId = String(d.params.client_id);
    // A grant is extended only for its own user and client; anything else gets a new one.
    const found = d.grantId ? await provider.Grant.find(d.grantId) : undefined;
    const grant =
      found?.accountId === p.sub && found.clientId === clientId
        ? found
        : new provider.Grant({ accountId: p.sub, clientId });
    const missing = d.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    // Without the login's tokens the client still works; only backends acting as the user say so.
    await opts
      .onGrant?.(grantId, p)
      .catch((e: Error) =>
        app.log.warn({ event: 'as.grant_login_not_kept', reason: e.message }, 'the upstream login was not kept'),
      );
    return grantId;
  }

  app.get<{ Params: { uid: string } }>('/interaction/:uid', async (req, reply) => {
    const d = await details(req, reply);
    const p = userOrLogin(req, reply, d.uid);
    if (!p) return reply;
    const claims: AccountClaims = {
      sub: p.sub,
      email: p.email,
      name: p.name,
      groups: [...p.groups],
      tenantClaims: req.session.get('user')?.tenantClaims,
    };
    await store.set(`as:account:${p.sub}`, claims, rememberMs);
    if (d.prompt.name === 'login' || (d.session?.accountId && d.session.accountId !== p.sub)) {
      return finish(req, reply, { login: { accountId: p.sub } });
    }
    const clientId = String(d.params.client_id);
    const wanted = requested(d);
    const remembered = (await store.get<string[]>(consentKey(p.sub, clientId))) ?? [];
    if (wanted.every((w) => remembered.includes(w)))
      return finish(req, reply, { consent: { grantId: await grantConsent(d, p) } });
    const client = await provider.Client.find(clientId);
    const csrf = req.session.get('user')?.csrf ?? '';
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return consentPage(d, client?.clientName ?? clientId, csrf);
  });

  app.post<{ Params: { uid: string } }>('/interaction/:uid/confirm', async (req, reply) => {
    const d = await details(req, reply);
    const p = userOrLogin(req, reply, d.uid);
    if (!p) return reply;
    assertCsrf(req, req.session.get('user')?.csrf);
    const clientId = String(d.params.client_id);
    const remembered = (await store.get<string[]>(consentKey(p.sub, clientId))) ?? [];
    await store.set(consentKey(p.sub, clientId), [...new Set([...remembered, ...requested(d)])], rememberMs);
    req.log.info({ event: 'as.consent', sub: p.sub, clientId }, 'consent given');
    return finish(req, reply, { consent: { grantId: await grantConsent(d, p) } });
  });

  app.post<{ Params: { uid: string } }>('/interaction/:uid/abort', async (req, reply) => {
    await details(req, reply);
    assertCsrf(req, req.session.get('user')?.csrf);
    return finish(req, reply, { error: 'access_denied', error_description: 'the user denied access' });
  });
}

/** What consent covers: scopes and resources, as `scope:x` / `resource:url` items. */
function requested(d: Details): string[] {
  const scopes = String(d.params.scope ?? '')
    .split(' ')
    .filter(Boolean)
    .map((s) => `scope:${s}`);
  const resources = [d.params.resource]
    .flat()
    .filter(Boolean)
    .map((r) => `resource:${String(r)}`);
  return [...scopes, ...resources];
}

function consentPage(d: Details, clientName: string, csrf: string): string {
  const redirect = URL.parse(String(d.params.redirect_uri ?? ''));
  const scopes = String(d.params.scope ?? '')
    .split(' ')
    .filter(Boolean);
  const resources = [d.params.resource].flat().filter(Boolean).map(String);
  const action = `/interaction/${encodeURIComponent(d.uid)}`;
  const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
  const form = (to: string) => `<form method="post" action="${action}/${to}" style="display:inline">${hidden}`;
  const returnsTo = escapeHtml(redirect ? redirect.host || redirect.protocol : '(device)');
  const servers = resources.map((r) => `<code>${escapeHtml(r)}</code>`).join('<br>') || 'all';
  return narrowPage(
    'Allow access?',
    `<h1>Allow access?</h1>
<div class="card" id="consent">
<p><strong id="client-name">${escapeHtml(clientName)}</strong> wants to use MCP servers on your behalf.</p>
<table>
<tr><th>Returns to</th><td id="redirect-host"><code>${returnsTo}</code></td></tr>
<tr><th>Access</th><td id="scopes">${scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' ')}</td></tr>
<tr><th>Servers</th><td id="resources">${servers}</td></tr>
</table>
<p class="muted">Only allow clients you started yourself. You can revoke access by logging out.</p>
${form('confirm')}<button type="submit" id="allow">Allow</button></form>
${form('abort')}<button type="submit" class="secondary" id="deny">Deny</button></form>
</div>`,
  );
}
