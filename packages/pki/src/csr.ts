import { isIP } from 'node:net';
import { SigilError } from '@sigil/errors';
import { commonNameOnly } from './internal/names';
import { x509 } from './internal/x509-runtime';
import {
  signatureAlgorithmFor,
  toWebCryptoPrivateKey,
  toWebCryptoPublicKey,
} from './internal/webcrypto-keys';
import type { KeyPair } from './keys';
import { parseSpiffeId } from './spiffe-id';

/**
 * Options for {@link createCertificateSigningRequest}: what to ask for. The CA may decide otherwise.
 *
 * @example
 * ```ts
 * await createCertificateSigningRequest(key, { spiffeId: 'spiffe://example.org/svc/api', dnsNames: ['api.internal'] });
 * ```
 */
export interface CertificateSigningRequestOptions {
  /** The SPIFFE ID to request as URI SAN. */
  spiffeId?: string;
  /** DNS SANs to request. */
  dnsNames?: readonly string[];
  /** IP SANs to request. */
  ipAddresses?: readonly string[];
  /** Subject CN to request. */
  commonName?: string;
}

/**
 * Creates a PEM PKCS#10 CSR signed by `key` (proof of possession). Only the public key matters to
 * a Sigil CA: `signCsr` takes identity, SANs, lifetime and usages from its own policy.
 *
 * @example
 * ```ts
 * const key = await generateKeyPair('ec-p256');
 * const csrPem = await createCertificateSigningRequest(key, { spiffeId: 'spiffe://example.org/svc/api' });
 * const issued = await ca.signCsr(csrPem, { spiffeId: 'spiffe://example.org/svc/api', ttlSeconds: 3600 });
 * ```
 */
export async function createCertificateSigningRequest(
  key: KeyPair,
  options: CertificateSigningRequestOptions = {},
): Promise<string> {
  const names: x509.JsonGeneralName[] = [];
  if (options.spiffeId !== undefined)
    names.push({ type: 'url', value: String(parseSpiffeId(options.spiffeId)) });
  for (const dns of options.dnsNames ?? []) names.push({ type: 'dns', value: dns });
  for (const ip of options.ipAddresses ?? []) {
    if (isIP(ip) === 0)
      throw new SigilError('ERR_SAN_INVALID', `"${ip}" is not an IP address`, { details: { ip } });
    names.push({ type: 'ip', value: ip });
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(options.commonName === undefined ? {} : { name: commonNameOnly(options.commonName) }),
    keys: {
      privateKey: await toWebCryptoPrivateKey(key),
      publicKey: await toWebCryptoPublicKey(key.publicKey, key.keyType),
    },
    signingAlgorithm: signatureAlgorithmFor(key.keyType) as Algorithm,
    extensions: names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)],
  });
  return csr.toString('pem') + '\n';
}

type Algorithm = Parameters<
  typeof x509.Pkcs10CertificateRequestGenerator.create
>[0]['signingAlgorithm'];
