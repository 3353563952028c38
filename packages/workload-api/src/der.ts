import { X509Certificate, createPrivateKey } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { toPem } from '@sigil/pki';

/**
 * Splits the concatenated ASN.1 DER certificates of a Workload API message (`x509_svid`,
 * `bundle`) and returns them as PEM. `source` names the field in errors.
 *
 * @example
 * ```ts
 * const chainPem = derCertificatesToPem(svid.x509Svid, 'X509SVID.x509_svid');
 * ```
 */
export function derCertificatesToPem(der: Uint8Array, source: string): string {
  const bytes = Buffer.from(der);
  const certificates: X509Certificate[] = [];
  let offset = 0;
  const malformed = (): SigilError =>
    new SigilError('ERR_PEM_MALFORMED', `${source}: not concatenated DER certificates`, {
      details: { field: source, offset },
    });
  while (offset < bytes.length) {
    // Each certificate is a DER SEQUENCE: tag 0x30, then a short or long-form length.
    if (bytes[offset] !== 0x30 || offset + 2 > bytes.length) throw malformed();
    let length = bytes[offset + 1]!;
    let header = 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      if (octets === 0 || octets > 4 || offset + 2 + octets > bytes.length) throw malformed();
      length = 0;
      for (let i = 0; i < octets; i += 1) length = length * 256 + bytes[offset + 2 + i]!;
      header += octets;
    }
    const end = offset + header + length;
    if (end > bytes.length) throw malformed();
    try {
      certificates.push(new X509Certificate(bytes.subarray(offset, end)));
    } catch (cause) {
      throw Object.assign(malformed(), { cause });
    }
    offset = end;
  }
  if (certificates.length === 0) throw malformed();
  return toPem(certificates);
}

/**
 * The PKCS#8 PEM of a Workload API `x509_svid_key` (PKCS#8 DER).
 *
 * @example
 * ```ts
 * const keyPem = pkcs8DerToPem(svid.x509SvidKey, 'X509SVID.x509_svid_key');
 * ```
 */
export function pkcs8DerToPem(der: Uint8Array, source: string): string {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
  } catch (cause) {
    throw new SigilError('ERR_PEM_MALFORMED', `${source}: not a PKCS#8 DER private key`, {
      cause,
      details: { field: source },
    });
  }
}
