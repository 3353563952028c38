import type { KeyObject, webcrypto } from 'node:crypto';
import type { KeyPair, KeyType } from '../keys';
import { currentProvider } from './x509-runtime';

// Conversions from Node KeyObjects to CryptoKeys of the current WebCrypto provider, for the
// @peculiar/x509 calls (CA certificates, CSRs). Leaf issuance does not need them.

/** WebCrypto algorithm used for signing with a key of this type. */
export function signingAlgorithmFor(
  keyType: KeyType,
): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm {
  switch (keyType) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'rsa-2048':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

/** Converts a Node private key to a CryptoKey of the current WebCrypto provider, for @peculiar/x509. */
export async function toWebCryptoPrivateKey(pair: KeyPair): Promise<webcrypto.CryptoKey> {
  const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  return currentProvider().subtle.importKey(
    'pkcs8',
    der,
    signingAlgorithmFor(pair.keyType),
    false,
    ['sign'],
  );
}

/** Converts a Node public key to a WebCrypto CryptoKey. */
export async function toWebCryptoPublicKey(
  publicKey: KeyObject,
  keyType: KeyType,
): Promise<webcrypto.CryptoKey> {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return currentProvider().subtle.importKey('spki', der, signingAlgorithmFor(keyType), true, [
    'verify',
  ]);
}
