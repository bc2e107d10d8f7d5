/**
 * The development IdP's interaction pages: login form and (optional) consent form, plain
 * server-rendered HTML that a browser or a headless fetch client can submit.
 *
 *   GET  <prefix>/interaction/:uid          the page for the pending prompt
 *   POST <prefix>/interaction/:uid/login    username + password
 *   POST <prefix>/interaction/:uid/confirm  "Allow"
 *   GET  <prefix>/interaction/:uid/abort    "Cancel" (access_denied to the client)
 *
 * The provider scopes its interaction cookie to `<prefix>/interaction/<uid>`, so every
 * route lives below that path.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { normalizePrefix } from '../lib/oidc-provider-mount.js';
import { escapeHtml } from '../web/html.js';
import { checkPassword, devIdpPage, type DevUser } from './provider.js';

export interface DevIdpInteractionsOptions {
  provider: Provider;
  /** Fastify's route prefix: register at the provider's mount point (e.g. `/_dev/idp`). */
  prefix?: string;
  users: readonly DevUser[];
  consent: boolean;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
type Form = Record<string, string | undefined>;
interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

const FORM = 'application/x-www-form-urlencoded';

function loginPage(
  uid: string,
  base: string,
  details: Details,
  users: readonly DevUser[],
  error?: string,
  username = '',
) {
  const known = users.map((u) => `<code>${escapeHtml(u.username)}</code>`).join(', ');
  const user = escapeHtml(username);
  return devIdpPage(
    'Sign in — development IdP',
    `<h1>Sign in</h1>
<p class="muted">to <code>${escapeHtml(details.params.client_id)}</code></p>
${error ? `<p role="alert" style="color:#b00020"><strong>${escapeHtml(error)}</strong></p>` : ''}
<form method="post" action="${escapeHtml(`${base}/${encodeURIComponent(uid)}/login`)}" class="card">
<p><label>Username<br><input name="username" autocomplete="username" value="${user}" required autofocus></label></p>
<p><label>Password<br><input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button>
<a style="margin-left:.75rem" href="${escapeHtml(`${base}/${encodeURIComponent(uid)}/abort`)}">Cancel</a></p>
</form>
<p class="muted">Users configured: ${known || 'none'}.</p>`,
  );
}

function consentPage(uid: string, base: string, details: Details) {
  const d = details.prompt.details as ConsentDetails;
  const scopes = (d.missingOIDCScope ?? []).map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  const claims = (d.missingOIDCClaims ?? []).map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join('');
  return devIdpPage(
    'Allow access — development IdP',
    `<h1>Allow access?</h1>
<p><code>${escapeHtml(details.params.client_id)}</code> asks for:</p>
<ul>${scopes || '<li>no new scopes</li>'}${claims}</ul>
<form method="post" action="${escapeHtml(`${base}/${encodeURIComponent(uid)}/confirm`)}" class="card">
<button type="submit">Allow</button>
<a style="margin-left:.75rem" href="${escapeHtml(`${base}/${encodeURIComponent(uid)}/abort`)}">Cancel</a>
</form>`,
  );
}

function messagePage(reply: FastifyReply, status: number, title: string, message: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(devIdpPage(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`));
}

/** Grants what the consent prompt says is missing; returns the grant id. */
async function saveGrant(provider: Provider, details: Details): Promise<string> {
  const accountId = details.session?.accountId;
  if (!accountId) throw new Error('consent without a logged-in account');
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  const d = details.prompt.details as ConsentDetails;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return grant.save();
}

export const devIdpInteractions: FastifyPluginAsync<DevIdpInteractionsOptions> = async (app, opts) => {
  const { provider, users } = opts;
  const base = `${normalizePrefix(app.prefix)}/interaction`; // absolute, for links and form actions

  if (!app.hasContentTypeParser(FORM)) {
    app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
  }

  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });

  /** The interaction of this request (from its cookie), or undefined after replying with an error page. */
  async function load(req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply, prompt?: string) {
    let details: Details;
    try {
      details = await provider.interactionDetails(req.raw, reply.raw);
    } catch {
      messagePage(
        reply,
        400,
        'Sign-in expired',
        'This sign-in attempt is no longer valid. Go back to the application and start again.',
      );
      return undefined;
    }
    if (details.uid !== req.params.uid || (prompt && details.prompt.name !== prompt)) {
      messagePage(reply, 400, 'Unexpected request', 'This page does not belong to the current sign-in attempt.');
      return undefined;
    }
    return details;
  }

  async function finish(req: FastifyRequest, reply: FastifyReply, result: InteractionResults) {
    const returnTo = await provider.interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: true });
    return reply.redirect(returnTo, 303);
  }

  app.get<{ Params: { uid: string } }>('/interaction/:uid', async (req, reply) => {
    const details = await load(req, reply);
    if (!details) return reply;
    const { uid } = req.params;
    switch (details.prompt.name) {
      case 'login':
        return reply.type('text/html; charset=utf-8').send(loginPage(uid, base, details, users));
      case 'consent':
        if (!opts.consent) return finish(req, reply, { consent: { grantId: await saveGrant(provider, details) } });
        return reply.type('text/html; charset=utf-8').send(consentPage(uid, base, details));
      default:
        return messagePage(
          reply,
          400,
          'Unsupported prompt',
          `The development IdP cannot handle "${details.prompt.name}".`,
        );
    }
  });

  app.post<{ Params: { uid: string }; Body: Form }>('/interaction/:uid/login', async (req, reply) => {
    const details = await load(req, reply, 'login');
    if (!details) return reply;
    const username = String(req.body?.username ?? '');
    const user = checkPassword(users, username, String(req.body?.password ?? ''));
    if (!user) {
      req.log.info({ username }, 'development IdP: wrong username or password');
      const html = loginPage(req.params.uid, base, details, users, 'Wrong username or password.', username);
      return reply.code(401).type('text/html; charset=utf-8').send(html);
    }
    return finish(req, reply, { login: { accountId: user.username } });
  });

  app.post<{ Params: { uid: string } }>('/interaction/:uid/confirm', async (req, reply) => {
    const details = await load(req, reply, 'consent');
    if (!details) return reply;
    return finish(req, reply, { consent: { grantId: await saveGrant(provider, details) } });
  });

  app.get<{ Params: { uid: string } }>('/interaction/:uid/abort', async (req, reply) => {
    const details = await load(req, reply);
    if (!details) return reply;
    const result = { error: 'access_denied', error_description: 'The user cancelled the sign-in.' };
    return finish(req, reply, result);
  });
};
