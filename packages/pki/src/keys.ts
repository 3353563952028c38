import { createPrivateKey, createPublicKey, generateKeyPair as nodeGenerateKeyPair, KeyObject, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import { SigilError } from '@sigil/errors';

const generateKeyPairAsync = promisify(nodeGenerateKeyPair);

/** Key algorithms Sigil issues and accepts. Ed25519 is for signing certificates and clients that support it in TLS 1.3. */
export type KeyType = 'ec-p256' | 'rsa-2048' | 'ed25519';

/** A key pair in the forms Sigil passes around: Node KeyObjects plus PEM. */
export interface KeyPair {
  readonly keyType: KeyType;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM of the private key. Never log it. */
  readonly privateKeyPem: string;
  /** SPKI PEM of the public key. */
  readonly publicKeyPem: string;
}

/**
 * Generates a fresh key pair.
 *
 * @example
 * ```ts
 * const key = await generateKeyPair('ec-p256');
 * fs.writeFileSync('tls.key', key.privateKeyPem, { mode: 0o600 });
 * ```
 */
export async function generateKeyPair(keyType: KeyType = 'ec-p256'): Promise<KeyPair> {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (keyType) {
    case 'ec-p256':
      pair = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
      break;
    case 'rsa-2048':
      pair = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
      break;
    case 'ed25519':
      pair = await generateKeyPairAsync('ed25519');
      break;
    default:
      throw new SigilError('ERR_KEY_UNSUPPORTED', `unsupported key type "${String(keyType)}" (use ec-p256, rsa-2048 or ed25519)`);
  }
  return keyPairFromObjects(keyType, pair.privateKey, pair.publicKey);
}

/**
 * Parses a PEM private key (PKCS#8, SEC1 or PKCS#1) and names `source` in any error.
 *
 * @example
 * ```ts
 * const key = importPrivateKeyPem(fs.readFileSync('/etc/grpc-tls/tls.key', 'utf8'), '/etc/grpc-tls/tls.key');
 * ```
 */
export function importPrivateKeyPem(pem: string, source = 'private key'): KeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new SigilError('ERR_PEM_MALFORMED', `${source}: not a readable PEM private key (${(cause as Error).message})`, {
      cause,
      details: { file: source },
    });
  }
  const keyType = keyTypeOf(privateKey, source);
  return keyPairFromObjects(keyType, privateKey, createPublicKey(privateKey));
}

/**
 * The Sigil key type of a Node KeyObject, or an `ERR_KEY_UNSUPPORTED` error naming `source`.
 *
 * @example
 * ```ts
 * keyTypeOf(createPublicKey(pem)); // 'ec-p256'
 * ```
 */
export function keyTypeOf(key: KeyObject, source = 'key'): KeyType {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec' && details.namedCurve === 'prime256v1') return 'ec-p256';
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) return 'rsa-2048';
  if (type === 'ed25519') return 'ed25519';
  const what = type === 'ec' ? `EC curve ${details.namedCurve}` : type === 'rsa' ? `RSA-${details.modulusLength}` : String(type);
  throw new SigilError('ERR_KEY_UNSUPPORTED', `${source}: unsupported or weak key type ${what} (use ECDSA P-256, RSA-2048 or stronger, or Ed25519)`, {
    details: { file: source, keyType: what },
  });
}

/** WebCrypto algorithm used for signing with a key of this type. @internal */
export function signingAlgorithmFor(keyType: KeyType): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm {
  switch (keyType) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'rsa-2048':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

/** Converts a Node private key to a WebCrypto CryptoKey for @peculiar/x509. @internal */
export async function toWebCryptoPrivateKey(pair: KeyPair): Promise<webcrypto.CryptoKey> {
  const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, signingAlgorithmFor(pair.keyType), false, ['sign']);
}

/** Converts a Node public key to a WebCrypto CryptoKey. @internal */
export async function toWebCryptoPublicKey(publicKey: KeyObject, keyType: KeyType): Promise<webcrypto.CryptoKey> {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return webcrypto.subtle.importKey('spki', der, signingAlgorithmFor(keyType), true, ['verify']);
}

function keyPairFromObjects(keyType: KeyType, privateKey: KeyObject, publicKey: KeyObject): KeyPair {
  return {
    keyType,
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}
