import type { CertificateAuthority } from '@sigil/pki';
import {
  createCertificateAuthority,
  importPrivateKeyPem,
  parseCertificatesPem,
  parseSpiffeId,
} from '@sigil/pki';
import type { ParsedMaterial } from './material';

/** Trust domain of `dev` mode certificates unless the dev SPIFFE ID names another. */
export const DEV_TRUST_DOMAIN = 'dev.sigil.local';

/** One throwaway CA per trust domain and process, so a dev server and a dev client in the same process trust each other. */
const devAuthorities = new Map<string, Promise<CertificateAuthority>>();

/**
 * A certificate from the in-memory dev CA of the ID's trust domain, valid for `localhost`,
 * 127.0.0.1 and ::1 and usable as server and client certificate, with that CA as the trust
 * bundle. Nothing is written to disk.
 */
export async function createDevMaterial(spiffeId: string): Promise<ParsedMaterial> {
  const { trustDomain } = parseSpiffeId(spiffeId);
  let authority = devAuthorities.get(trustDomain);
  if (!authority) {
    authority = createCertificateAuthority({
      trustDomain,
      commonName: 'Sigil dev CA (throwaway, in memory)',
      ttlSeconds: 7 * 86_400,
    });
    devAuthorities.set(trustDomain, authority);
  }
  const issued = await (
    await authority
  ).issue({
    spiffeId,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    profile: 'svid',
    ttlSeconds: 86_400,
  });
  return {
    chain: parseCertificatesPem(issued.chainPem, 'dev certificate'),
    key: importPrivateKeyPem(issued.privateKeyPem!, 'dev key'),
    ca: parseCertificatesPem(issued.caPem, 'dev CA'),
  };
}
