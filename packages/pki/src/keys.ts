import type { X509Certificate } from 'node:crypto';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair as nodeGenerateKeyPair,
  KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { SigilError } from '@sigil/errors';

const generateKeyPairAsync = promisify(nodeGenerateKeyPair);

/**
 * Key algorithms Sigil issues and accepts: ECDSA P-256 (the default) or P-384, RSA of 2048 or
 * 3072 bits (`rsa-3072` also names a longer RSA key read from a file or CSR), and Ed25519.
 * Node, OpenSSL 3, grpc-js and Go accept Ed25519 certificates in TLS 1.2 and 1.3; web browsers
 * do not (see docs/pki.md).
 *
 * @example
 * ```ts
 * const key = await generateKeyPair('ec-p384');
 * ```
 */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'ed25519';

/**
 * Every {@link KeyType}, default first: what a `--key-type` flag offers.
 *
 * @example
 * ```ts
 * if (!KEY_TYPES.includes(flag as KeyType)) throw new Error(`use one of ${KEY_TYPES.join(', ')}`);
 * ```
 */
export const KEY_TYPES: readonly KeyType[] = [
  'ec-p256',
  'ec-p384',
  'rsa-2048',
  'rsa-3072',
  'ed25519',
];

/**
 * A key pair in the forms Sigil passes around: Node KeyObjects plus PEM.
 *
 * @example
 * ```ts
 * const key: KeyPair = await generateKeyPair();
 * const csrPem = await createCertificateSigningRequest(key);
 * ```
 */
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
    case 'ec-p384':
      pair = await generateKeyPairAsync('ec', { namedCurve: 'P-384' });
      break;
    case 'rsa-2048':
      pair = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
      break;
    case 'rsa-3072':
      pair = await generateKeyPairAsync('rsa', { modulusLength: 3072 });
      break;
    case 'ed25519':
      pair = await generateKeyPairAsync('ed25519');
      break;
    default:
      throw new SigilError(
        'ERR_KEY_UNSUPPORTED',
        `unsupported key type "${String(keyType)}" (use ${KEY_TYPES.join(', ')})`,
      );
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
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new SigilError(
      'ERR_KEY_UNSUPPORTED',
      `${source}: the private key is encrypted; Sigil reads unencrypted PEM keys (protect the file with mode 0600)`,
      {
        details: { file: source },
      },
    );
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    const found = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
    throw new SigilError(
      'ERR_PEM_MALFORMED',
      `${source}: no PEM private key found${found ? ` (found "${found}" instead)` : ''}`,
      { details: { file: source } },
    );
  }
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new SigilError(
      'ERR_PEM_MALFORMED',
      `${source}: not a readable PEM private key, truncated or corrupt (${(cause as Error).message})`,
      {
        cause,
        details: { file: source },
      },
    );
  }
  const keyType = keyTypeOf(privateKey, source);
  return keyPairFromObjects(keyType, privateKey, createPublicKey(privateKey));
}

/**
 * Names used in the {@link assertKeyMatchesCertificate} error.
 *
 * @example
 * ```ts
 * assertKeyMatchesCertificate(key, leaf, { keySource: 'tls.key', certificateSource: 'tls.crt' });
 * ```
 */
export interface KeyCertificateSources {
  /** The key's file or description. Default `private key`. */
  keySource?: string;
  /** The certificate's file or description. Default `certificate`. */
  certificateSource?: string;
}

/**
 * Checks that `key` is the key pair of `certificate`'s public key; throws `ERR_KEY_MISMATCH`
 * naming both files otherwise (the classic "tls.key is not the key of tls.crt" mistake).
 *
 * @example
 * ```ts
 * const [leaf] = readCertificateChainFile('tls.crt');
 * assertKeyMatchesCertificate(readPrivateKeyFile('tls.key'), leaf!, { keySource: 'tls.key', certificateSource: 'tls.crt' });
 * ```
 */
export function assertKeyMatchesCertificate(
  key: KeyPair | KeyObject,
  certificate: X509Certificate,
  sources: KeyCertificateSources = {},
): void {
  const keySource = sources.keySource ?? 'private key';
  const certificateSource = sources.certificateSource ?? 'certificate';
  const object = key instanceof KeyObject ? key : key.privateKey;
  const matches =
    object.type === 'private'
      ? certificate.checkPrivateKey(object)
      : certificate.publicKey.equals(object);
  if (!matches) {
    throw new SigilError(
      'ERR_KEY_MISMATCH',
      `${keySource} is not the key of the certificate in ${certificateSource} (subject "${certificate.subject || '(empty)'}")`,
      {
        details: { file: keySource, keySource, certificateSource },
      },
    );
  }
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
  if (type === 'ec' && details.namedCurve === 'secp384r1') return 'ec-p384';
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 3072) return 'rsa-3072';
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) return 'rsa-2048';
  if (type === 'ed25519') return 'ed25519';
  const what =
    type === 'ec'
      ? `EC curve ${details.namedCurve}`
      : type === 'rsa'
        ? `RSA-${details.modulusLength}`
        : String(type);
  throw new SigilError(
    'ERR_KEY_UNSUPPORTED',
    `${source}: unsupported or weak key type ${what} (use ECDSA P-256 or P-384, RSA-2048 or stronger, or Ed25519)`,
    {
      details: { file: source, keyType: what },
    },
  );
}

// The PEM forms are encoded on first use: an OpenSSL 3 PEM export costs more than signing a
// certificate, and most callers (issuance, CA loading) only need the KeyObjects.
function keyPairFromObjects(
  keyType: KeyType,
  privateKey: KeyObject,
  publicKey: KeyObject,
): KeyPair {
  let privateKeyPem: string | undefined;
  let publicKeyPem: string | undefined;
  return {
    keyType,
    privateKey,
    publicKey,
    get privateKeyPem() {
      return (privateKeyPem ??= privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    },
    get publicKeyPem() {
      return (publicKeyPem ??= publicKey.export({ format: 'pem', type: 'spki' }).toString());
    },
  };
}
