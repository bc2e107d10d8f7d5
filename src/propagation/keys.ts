/**
 * The proxy's signing key: ES256, generated at start or read from `signing.keyFile`
 * (a private JWK). Its public half is served at /.well-known/jwks.json.
 */
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** The private JWK, for the authorization server that signs access tokens with the same key. */
  privateJwk: JWK;
}

export async function loadSigningKey(keyFile?: string): Promise<SigningKey> {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let privateJwk: JWK;
  if (keyFile) {
    const jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d)
      throw new Error(`${keyFile}: expected a private EC P-256 JWK`);
    privateKey = (await importJWK({ ...jwk, alg: 'ES256' }, 'ES256')) as CryptoKey;
    const { d: _d, ...pub } = jwk;
    publicJwk = pub;
    privateJwk = jwk;
  } else {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
    privateJwk = await exportJWK(pair.privateKey);
  }
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    alg: 'ES256',
    privateKey,
    publicJwk: { ...publicJwk, ...meta },
    privateJwk: { ...privateJwk, ...meta },
  };
}
