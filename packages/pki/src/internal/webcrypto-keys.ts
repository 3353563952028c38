import type { KeyObject, webcrypto } from 'node:crypto';
import type { KeyPair, KeyType } from '../keys';
import { currentProvider } from './x509-runtime';

// Conversions from Node KeyObjects to CryptoKeys of the current WebCrypto provider, for the
// @peculiar/x509 calls (CA certificates, CSRs). Leaf issuance does not need them.

/** WebCrypto algorithm used to import a key of this type. */
export function signingAlgorithmFor(
  keyType: KeyType,
): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm {
  switch (keyType) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'rsa-2048':
    case 'rsa-3072':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

/**
 * WebCrypto parameters of a signature made with a key of this type (@peculiar/x509
 * `signingAlgorithm`): ECDSA with the hash that matches the curve (SHA-256 for P-256, SHA-384 for
 * P-384, RFC 5480 4), RSA PKCS#1 v1.5 with SHA-256, Ed25519.
 */
export function signatureAlgorithmFor(
  keyType: KeyType,
): webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm {
  switch (keyType) {
    case 'ec-p256':
      return { name: 'ECDSA', hash: 'SHA-256' };
    case 'ec-p384':
      return { name: 'ECDSA', hash: 'SHA-384' };
    default:
      return signingAlgorithmFor(keyType);
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
