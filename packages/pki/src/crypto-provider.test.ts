import { webcrypto } from 'node:crypto';
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto';
import { SigilError } from '@sigil/errors';
import { createCertificateAuthority, createIntermediateCertificateAuthority } from './ca';
import { getCryptoProvider, setCryptoProvider } from './crypto-provider';
import { createCertificateSigningRequest } from './csr';
import { generateKeyPair } from './keys';
import { validateX509Svid } from './svid';
import { rsaTestKey } from '../test/support/keys';

describe('crypto provider', () => {
  afterEach(() => setCryptoProvider(webcrypto));

  it("defaults to Node's built-in WebCrypto", () => {
    expect(getCryptoProvider()).toBe(webcrypto);
  });

  it.each(['ec-p256', 'rsa-2048', 'ed25519'] as const)(
    'runs CA creation, CSRs and CSR signing on @peculiar/webcrypto (%s)',
    async (keyType) => {
      const peculiar = new PeculiarCrypto();
      setCryptoProvider(peculiar);
      expect(getCryptoProvider()).toBe(peculiar);
      const root = await createCertificateAuthority({ trustDomain: 'example.org', keyType });
      const mid = await createIntermediateCertificateAuthority(root, { keyType });
      const csr = await createCertificateSigningRequest(
        keyType === 'rsa-2048' ? rsaTestKey() : await generateKeyPair(keyType),
        { spiffeId: 'spiffe://example.org/w' },
      );
      const issued = await mid.signCsr(csr, { spiffeId: 'spiffe://example.org/w' });
      setCryptoProvider(webcrypto);
      expect(validateX509Svid(issued.chainPem, issued.caPem).spiffeId).toBe(
        'spiffe://example.org/w',
      );
    },
  );

  it('refuses something that is not a WebCrypto implementation', () => {
    expect(() => setCryptoProvider({} as never)).toThrow(SigilError);
    expect(getCryptoProvider()).toBe(webcrypto);
  });
});
