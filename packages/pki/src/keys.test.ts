import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { generateKeyPair, importPrivateKeyPem, KEY_TYPES, keyTypeOf } from './keys';
import type { KeyType } from './keys';
import { rsa3072PublicKey } from '../test/support/keys';

describe('keys', () => {
  it.each([
    ['ec-p256', 'ec', 'BEGIN PRIVATE KEY'],
    ['ec-p384', 'ec', 'BEGIN PRIVATE KEY'],
    ['rsa-2048', 'rsa', 'BEGIN PRIVATE KEY'],
    ['rsa-3072', 'rsa', 'BEGIN PRIVATE KEY'],
    ['ed25519', 'ed25519', 'BEGIN PRIVATE KEY'],
  ] as const)(
    'generates %s key pairs with PKCS#8 and SPKI PEM that import back',
    async (keyType, nodeType, header) => {
      const key = await generateKeyPair(keyType);
      expect(key.keyType).toBe(keyType);
      expect(key.privateKey.asymmetricKeyType).toBe(nodeType);
      expect(key.privateKeyPem).toContain(header);
      expect(key.publicKeyPem).toContain('BEGIN PUBLIC KEY');
      const again = importPrivateKeyPem(key.privateKeyPem, 'k');
      expect(again.keyType).toBe(keyType);
      expect(again.publicKey.equals(key.publicKey)).toBe(true);
    },
  );

  it('names every key type in order, default first, and refuses others by name', async () => {
    expect(KEY_TYPES).toEqual(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'ed25519']);
    await expect(generateKeyPair('ec-p521' as KeyType)).rejects.toThrow(
      'unsupported key type "ec-p521" (use ec-p256, ec-p384, rsa-2048, rsa-3072, ed25519)',
    );
  });

  it('defaults to ECDSA P-256', async () => {
    expect((await generateKeyPair()).keyType).toBe('ec-p256');
  });

  it('classifies keys and names the source of an unsupported one', () => {
    expect(keyTypeOf(rsa3072PublicKey())).toBe('rsa-3072');
    expect(keyTypeOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).toBe(
      'rsa-2048',
    );
    expect(keyTypeOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toBe('ec-p384');
    expect(keyTypeOf(createPublicKey(generateKeyPairSync('ed25519').privateKey))).toBe('ed25519');
    try {
      keyTypeOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey, 'tls.key');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(SigilError);
      expect((err as SigilError).code).toBe('ERR_KEY_UNSUPPORTED');
      expect((err as Error).message).toBe(
        'tls.key: unsupported or weak key type EC curve secp521r1 (use ECDSA P-256 or P-384, RSA-2048 or stronger, or Ed25519)',
      );
    }
  });
});
