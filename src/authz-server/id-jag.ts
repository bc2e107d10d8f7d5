/**
 * Identity Assertion JWT Authorization Grants (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant)
 * checked against the configured enterprise IdPs: header `typ: oauth-id-jag+jwt`, an asymmetric
 * signature by that IdP's keys (jose; JWKS URL or inline), exact `iss`, `aud` = the configured audience,
 * `exp`/`iat`, and the claims the grant needs (`sub`, `jti`, `client_id`). Refusals are oidc-provider's
 * `invalid_grant` with a description saying what is wrong; an IdP whose keys cannot be fetched is 503.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { errors as oidcErrors } from 'oidc-provider';
import type { EnterpriseIdpConfig } from '../config/enterprise-idps-schema.js';
import { ALLOWED_ALGORITHMS } from '../tokens/external-jwt.js';

export const ID_JAG_TYP = 'oauth-id-jag+jwt';
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';
/** Leeway for exp/iat, seconds. */
const CLOCK_TOLERANCE_S = 30;
/** ID-JAGs are short-lived (minutes): one issued longer ago than this is refused whatever its `exp`. */
const MAX_AGE = '1h';

export interface VerifiedIdJag {
  idp: EnterpriseIdpConfig;
  payload: JWTPayload & { sub: string; jti: string; exp: number; client_id: string };
}

/** `invalid_grant` whose description says why (oidc-provider keeps its own text otherwise). */
export const grantRefused = (why: string): Error =>
  Object.assign(new oidcErrors.InvalidGrant(), { error_description: `ID-JAG refused: ${why}` });
const invalid = grantRefused;

function unavailable(issuer: string): Error {
  const e = new oidcErrors.CustomOIDCProviderError(
    'temporarily_unavailable',
    `the signing keys of ${issuer} cannot be fetched; try again shortly`,
  );
  return Object.assign(e, { status: 503, statusCode: 503, expose: true });
}

/** Failures of the key set that say nothing about the assertion (network, timeout, a bad JWKS document). */
const keyFetchFailed = (e: unknown) =>
  e instanceof errors.JWKSTimeout ||
  e instanceof errors.JWKSInvalid ||
  (e as { code?: string }).code === 'ERR_JOSE_GENERIC' || // the JWKS answered other than 200
  (e instanceof Error && !(e instanceof errors.JOSEError) && !(e instanceof errors.JWKSNoMatchingKey));

export class IdJagVerifier {
  private readonly idps = new Map<string, { cfg: EnterpriseIdpConfig; keys: Parameters<typeof jwtVerify>[1] }>();

  /** `issuer`: this authorization server's issuer, the default audience. */
  constructor(
    idps: readonly EnterpriseIdpConfig[],
    private readonly issuer: string,
    /** The outbound fetch (`tls.ca`, src/lib/outbound-tls.ts); default: the global one. */
    fetchImpl?: typeof fetch,
  ) {
    for (const cfg of idps) {
      const keys = cfg.jwks
        ? createLocalJWKSet(cfg.jwks as { keys: never[] })
        : createRemoteJWKSet(new URL(cfg.jwksUri!), {
            timeoutDuration: 5000,
            ...(fetchImpl ? { [customFetch]: fetchImpl } : {}),
          });
      this.idps.set(cfg.issuer, { cfg, keys });
    }
  }

  async verify(assertion: string): Promise<VerifiedIdJag> {
    let iss: unknown;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      throw invalid('the assertion is not a JWT');
    }
    const idp = typeof iss === 'string' ? this.idps.get(iss) : undefined;
    if (!idp) throw invalid(`its issuer (${String(iss).slice(0, 200)}) is not a configured enterprise IdP`);
    const audience = idp.cfg.audience ?? this.issuer;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, idp.keys as never, {
        issuer: idp.cfg.issuer,
        audience,
        typ: ID_JAG_TYP,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        maxTokenAge: MAX_AGE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      }));
    } catch (e) {
      throw this.refusal(e, idp.cfg.issuer, audience);
    }
    for (const claim of ['sub', 'jti', 'client_id'] as const)
      if (typeof payload[claim] !== 'string' || !payload[claim]) throw invalid(`its "${claim}" claim is not a string`);
    if ((payload.iat ?? 0) > Date.now() / 1000 + CLOCK_TOLERANCE_S) throw invalid('it was issued in the future');
    return { idp: idp.cfg, payload: payload as VerifiedIdJag['payload'] };
  }

  private refusal(e: unknown, issuer: string, audience: string): Error {
    if (keyFetchFailed(e)) return unavailable(issuer);
    const { code, claim } = e as { code?: string; claim?: string };
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        return invalid('it has expired');
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return invalid(`its signature does not verify with the keys of ${issuer}`);
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return invalid('its signature algorithm is not allowed (asymmetric algorithms only)');
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        if (claim === 'typ') return invalid(`its header "typ" must be "${ID_JAG_TYP}"`);
        if (claim === 'aud') return invalid(`its "aud" must be ${audience}`);
        return invalid(`its "${claim}" claim is missing or wrong (${(e as Error).message})`);
      default:
        return invalid(`it is not a valid signed JWT (${code ?? (e as Error).message})`);
    }
  }
}
