import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '../ca';
import { certificateInfo } from './certificate-info';

describe('certificateInfo', () => {
  it('reads a certificate once by content: a fresh X509Certificate of the same DER is not parsed again', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const first = certificateInfo(new X509Certificate(ca.certificatePem));
    expect(first).toMatchObject({ isCa: true, uris: ['spiffe://example.org'] });
    expect(certificateInfo(new X509Certificate(ca.certificatePem))).toBe(first);
  });

  it('keeps a bounded number of certificates by content, least recently used out first', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
    const leafPem = async (i: number) =>
      (await ca.issue({ spiffeId: `spiffe://example.org/w/${i}` })).certificatePem;
    const hot = certificateInfo(new X509Certificate(ca.certificatePem));
    const evicted = await leafPem(0);
    const cold = certificateInfo(new X509Certificate(evicted));
    for (let i = 1; i <= 64; i += 1) {
      certificateInfo(new X509Certificate(await leafPem(i)));
      // The CA certificate is used by every validation, so it stays.
      expect(certificateInfo(new X509Certificate(ca.certificatePem))).toBe(hot);
    }
    const reread = certificateInfo(new X509Certificate(evicted));
    expect(reread).not.toBe(cold);
    expect(reread).toEqual(cold);
  });
});
