/** DPoP for tests: what 401 challenges offer, client keys and proofs (RFC 9449) made with jose. */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { DPOP_ALGS } from '../../src/tokens/dpop.js';

/** What the proxy's 401 challenges add with `authorizationServer.dpop: allowed` (the default): a DPoP challenge. */
export const DPOP_OFFER = `, DPoP algs="${DPOP_ALGS.join(' ')}"`;

export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

export const newDpopKey = async (): Promise<DpopKey> => {
  const kp = await generateKeyPair('ES256');
  return { privateKey: kp.privateKey, jwk: await exportJWK(kp.publicKey) };
};

/** A DPoP proof JWT (RFC 9449 §4.2): `claims` override or add to htm, htu, jti and iat. */
export function dpopProof(
  key: DpopKey,
  htm: string,
  htu: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey);
}
