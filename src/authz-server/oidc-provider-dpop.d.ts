/**
 * oidc-provider's own DPoP steps for token endpoint grants, which it hands its built-in grants but
 * not `registerGrantType` handlers (their modules are not in its typings).
 */
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  /** The request's verified `DPoP` proof (htm, htu, iat, nonce), or undefined when it sent none. */
  export default function validateDpop(
    provider: Provider,
    ctx: KoaContextWithOIDC,
  ): Promise<{ thumbprint: string; jti: string; iat: number } | undefined>;
}

declare module 'oidc-provider/lib/helpers/grant_common.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  /** Binds `at` to the proof's key (`cnf.jkt`), refusing a replayed proof. */
  export function applyDpopBinding(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    dPoP: { thumbprint: string } | undefined,
    at: unknown,
  ): Promise<void>;
}
