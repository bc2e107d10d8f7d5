/**
 * The embedded development IdP: a real OpenID Provider (oidc-provider 9) with a fixed
 * user list. Okta-like: authorization code + PKCE S256, refresh tokens, a `groups` claim
 * in the ID token, RP-initiated logout. Keys (signing and cookie) are random per start,
 * state is in memory (one store per provider: the library's own memory adapter is
 * shared by every provider in the process).
 */
import { isLoopbackHost } from '../lib/net.js';
import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import Provider, {
  type ClientMetadata,
  type Configuration,
  type ErrorOut,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { safeEqual } from '../lib/crypto.js';
import { escapeHtml, page } from '../web/html.js';
import { storeAdapter } from '../authz-server/adapter.js';
import { MemoryStore } from '../store/memory.js';

export interface DevUser {
  username: string;
  password: string;
  email?: string;
  name?: string;
  groups: string[];
  /** More claims released with the profile scope, e.g. Google's `hd` or Entra's `upn` (tests of IdP presets). */
  claims?: Record<string, unknown>;
}

export type DevIdpTtl = Partial<
  Record<'AccessToken' | 'AuthorizationCode' | 'IdToken' | 'RefreshToken' | 'Session' | 'Interaction' | 'Grant', number>
>;

export interface DevIdpProviderOptions {
  /** Issuer identifier; its path is where the provider is mounted (e.g. `/_dev/idp`). */
  issuer: string;
  users: DevUser[];
  clients: ClientMetadata[];
  /** Show a consent page after login (true) or grant what was asked silently (false). */
  consent: boolean;
  /** Prefix of the provider's cookie names (default `dev_idp`). */
  cookiePrefix?: string;
  /** Lifetimes in seconds. */
  ttl?: DevIdpTtl;
}

export const DEFAULT_TTL: Required<DevIdpTtl> = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  IdToken: 3600,
  RefreshToken: 14 * 24 * 3600,
  Session: 14 * 24 * 3600,
  Interaction: 3600,
  Grant: 14 * 24 * 3600,
};

/** Claims per scope: `groups` comes with the `groups` or the `profile` scope (as at Okta). */
const CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username', 'groups'],
  groups: ['groups'],
};

/** Where the interaction pages of a provider live (`<issuer path>/interaction/<uid>`). */
export function interactionPath(issuer: string, uid: string): string {
  return `${new URL(issuer).pathname.replace(/\/+$/, '')}/interaction/${encodeURIComponent(uid)}`;
}

export function findUser(users: readonly DevUser[], username: string): DevUser | undefined {
  return users.find((u) => u.username === username);
}

/** The user whose password matches, compared in constant time (sha256 digests). */
export function checkPassword(users: readonly DevUser[], username: string, password: string): DevUser | undefined {
  const user = findUser(users, username);
  // Compare against something even for unknown users, so timing does not tell them apart.
  const ok = safeEqual(password, user?.password ?? randomUUID());
  return ok ? user : undefined;
}

/** A page marked as the development IdP; `body` must already be escaped. */
export function devIdpPage(title: string, body: string): string {
  const banner =
    '<p style="background:#fff4d6;border:1px solid #e0b84f;border-radius:.4rem;padding:.5rem .75rem">' +
    '<strong>Development IdP — not for production.</strong> Built-in test users only.</p>';
  return page(title, `${banner}${body}`);
}

/**
 * With `consent: false`: every requested OIDC scope and claim is granted on the spot, so
 * the provider never asks for consent.
 */
async function autoGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const client = oidc.client!;
  const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(client.clientId);
  const grant =
    (grantId ? await oidc.provider.Grant.find(grantId) : undefined) ??
    new oidc.provider.Grant({ clientId: client.clientId, accountId: oidc.session!.accountId! });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

/** Revocation and introspection: a client may only touch its own tokens. */
const ownToken = (_ctx: KoaContextWithOIDC, client: { clientId: string }, token: { clientId?: string }) =>
  token.clientId === client.clientId;

async function signingKey() {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function logoutSource(ctx: KoaContextWithOIDC, form: string) {
  const confirm = form.replace(
    '</form>',
    '<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>',
  );
  // With an id_token_hint the RP is known (as at Okta): no need to ask, submit at once.
  const auto = ctx.oidc.params?.id_token_hint
    ? "<script>document.addEventListener('DOMContentLoaded',function(){document.forms[0].submit()})</script>"
    : '';
  ctx.type = 'html';
  ctx.body = devIdpPage(
    'Sign out',
    `<h1>Sign out of the development IdP?</h1><div class="card">${confirm}</div>${auto}`,
  );
}

function postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
  ctx.type = 'html';
  ctx.body = devIdpPage('Signed out', '<h1>Signed out</h1><p>You are signed out of the development IdP.</p>');
}

function renderError(ctx: KoaContextWithOIDC, out: ErrorOut) {
  ctx.type = 'html';
  const rows = Object.entries(out)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  ctx.body = devIdpPage('Error', `<h1>Something went wrong</h1><table class="card">${rows}</table>`);
}

/** A configured development OpenID Provider (not yet mounted anywhere). */
export async function createDevIdpProvider(opts: DevIdpProviderOptions): Promise<Provider> {
  const prefix = opts.cookiePrefix ?? 'dev_idp';
  const users = [...opts.users];
  const configuration: Configuration = {
    // One bounded in-memory store per provider: two providers in one process never see each other's tokens.
    adapter: storeAdapter(new MemoryStore(10_000), 'devidp'),
    clients: opts.clients,
    jwks: { keys: [await signingKey()] },
    cookies: {
      names: { session: `${prefix}_session`, interaction: `${prefix}_interaction`, resume: `${prefix}_resume` },
      keys: [randomBytes(32).toString('base64url')],
    },
    claims: {
      ...CLAIMS,
      profile: [...new Set([...CLAIMS.profile, ...users.flatMap((u) => Object.keys(u.claims ?? {}))])],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false, // scope claims in the ID token too (Okta does this for groups)
    pkce: { required: () => true },
    findAccount: (_ctx, sub) => {
      const user = findUser(users, sub);
      if (!user) return undefined;
      return {
        accountId: user.username,
        claims: () => ({
          sub: user.username,
          preferred_username: user.username,
          name: user.name ?? user.username,
          email: user.email,
          email_verified: user.email !== undefined,
          groups: [...user.groups],
          ...user.claims,
        }),
      };
    },
    // Okta issues refresh tokens to clients allowed the grant (oidc-provider would drop
    // offline_access without prompt=consent).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx, interaction) => interactionPath(opts.issuer, interaction.uid) },
    ...(opts.consent ? {} : { loadExistingGrant: autoGrant }),
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true, allowedPolicy: ownToken },
      introspection: { enabled: true, allowedPolicy: ownToken },
      userinfo: { enabled: true },
      pushedAuthorizationRequests: { enabled: false },
    },
    renderError,
    // oidc-provider refuses outgoing requests to special-use addresses; the dev IdP runs on
    // loopback next to the proxy, so its back-channel logout calls to loopback are let through.
    fetch: (url: string | URL | Request, init?: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher, ...rest } = init ?? {};
      const host = new URL(url instanceof Request ? url.url : url).hostname;
      return globalThis.fetch(url, isLoopbackHost(host) ? rest : ({ ...rest, dispatcher } as RequestInit));
    },
    ttl: { ...DEFAULT_TTL, ...opts.ttl },
  };
  return new Provider(opts.issuer, configuration);
}
