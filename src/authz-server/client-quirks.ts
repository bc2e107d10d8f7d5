/**
 * What the authorization server tolerates for real MCP clients (README "Connect MCP clients"):
 * refresh tokens for public PKCE clients that never ask for offline_access (claude.ai, Claude
 * Code), the default scope when `scope` is empty or missing (ChatGPT), and only the open grant
 * types for Client ID Metadata Documents that list more (VS Code lists device_code).
 */
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';

type RefreshHook = NonNullable<Configuration['issueRefreshToken']>;
type Client = Parameters<RefreshHook>[1];
type Source = Parameters<RefreshHook>[2];

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
/** What a client identified by a metadata document may use; anything else the document lists is dropped. */
const OPEN_GRANTS = new Set(['authorization_code', 'refresh_token', DEVICE_CODE]);

/**
 * A refresh token without offline_access: for a public client whose code was PKCE-bound (the
 * refresh token rotates, and reuse revokes the grant), or that used the device flow.
 * Confidential clients follow the standard rule.
 */
function refreshWithoutOfflineAccess(enabled: boolean, client: Client | undefined, source: Source): boolean {
  if (!enabled || !client || client.clientAuthMethod !== 'none') return false;
  const s = source as { kind?: string; codeChallenge?: string };
  return s.kind === 'DeviceCode' || (s.kind === 'AuthorizationCode' && Boolean(s.codeChallenge));
}

/**
 * `issueRefreshToken` and `expiresWithSession`: refresh tokens (rotated, see provider.ts) go to
 * clients asking for offline_access, and to public PKCE clients when `enabled`; those tokens do
 * not end with the browser session that granted them (only the grant's revocation ends them:
 * "log out everywhere", reuse detection, revocation).
 */
export function refreshPolicy(enabled: boolean): Pick<Configuration, 'issueRefreshToken' | 'expiresWithSession'> {
  return {
    issueRefreshToken: async (_ctx, client, source) =>
      client.grantTypeAllowed('refresh_token') &&
      (source.scopes.has('offline_access') || refreshWithoutOfflineAccess(enabled, client, source)),
    expiresWithSession: async (ctx, source) =>
      !source.scopes.has('offline_access') &&
      !refreshWithoutOfflineAccess(enabled, ctx.oidc.client, source as unknown as Source),
  };
}

/**
 * `extraParams.scope`: runs on every authorization and device authorization request after the
 * provider's own scope checks; a request with an empty or no `scope` asks for `defaultScope`
 * (every MCP resource offers it) instead of ending in access_denied with nothing granted.
 */
export function defaultScopeParam(defaultScope: string): Configuration['extraParams'] {
  return {
    scope: async (ctx: KoaContextWithOIDC) => {
      const params = ctx.oidc.params as { scope?: string } | undefined;
      if (params && !params.scope?.trim()) params.scope = defaultScope;
    },
  };
}

/**
 * For a client identified by a metadata document (its client_id is the document's https URL):
 * keep only the open grant types, so a document listing more is accepted and grants no more.
 * Runs in `extraClientMetadata.validator`, before the provider validates the metadata.
 */
export function keepOpenGrants(metadata: Record<string, unknown>): void {
  const id = metadata.client_id;
  if (typeof id !== 'string' || !id.startsWith('https://') || !Array.isArray(metadata.grant_types)) return;
  metadata.grant_types = metadata.grant_types.filter((g) => OPEN_GRANTS.has(String(g)));
}
