import { createHash, X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';

const CERT_BLOCK =
  /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * Parses every certificate in a PEM text (a leaf, a chain or a bundle), in order. Throws
 * `ERR_PEM_MALFORMED` naming `source` when the text has no certificate, a truncated block or a
 * block that is not a DER certificate.
 *
 * @example
 * ```ts
 * const [leaf, ...intermediates] = parseCertificatesPem(fs.readFileSync('tls.crt', 'utf8'), 'tls.crt');
 * ```
 */
export function parseCertificatesPem(pem: string, source = 'certificate'): X509Certificate[] {
  if (typeof pem !== 'string') {
    throw new SigilError('ERR_PEM_MALFORMED', `${source}: expected PEM text, got ${typeof pem}`, {
      details: { file: source },
    });
  }
  const begins = (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  const ends = (pem.match(/-----END CERTIFICATE-----/g) ?? []).length;
  if (begins === 0) {
    const found =
      typeof pem === 'string' ? /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] : undefined;
    throw new SigilError(
      'ERR_PEM_MALFORMED',
      `${source}: no PEM certificate found (expected "-----BEGIN CERTIFICATE-----"${found ? `, found "${found}"` : ''})`,
      {
        details: { file: source },
      },
    );
  }
  if (begins !== ends) {
    throw new SigilError(
      'ERR_PEM_MALFORMED',
      `${source}: truncated PEM (${begins} BEGIN CERTIFICATE lines, ${ends} END lines)`,
      {
        details: { file: source },
      },
    );
  }
  const certificates: X509Certificate[] = [];
  let index = 0;
  for (const match of pem.matchAll(CERT_BLOCK)) {
    index += 1;
    try {
      certificates.push(
        new X509Certificate(Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64')),
      );
    } catch (cause) {
      throw new SigilError(
        'ERR_PEM_MALFORMED',
        `${source}: certificate #${index} is not valid DER (${(cause as Error).message})`,
        {
          cause,
          details: { file: source, index },
        },
      );
    }
  }
  if (certificates.length !== begins) {
    throw new SigilError('ERR_PEM_MALFORMED', `${source}: malformed PEM certificate block`, {
      details: { file: source },
    });
  }
  return certificates;
}

/**
 * Serialises certificates to one PEM text (each block newline-terminated).
 *
 * @example
 * ```ts
 * fs.writeFileSync('tls.crt', toPem([leaf, intermediate]));
 * ```
 */
export function toPem(certificates: readonly (X509Certificate | string)[]): string {
  return certificates
    .map((c) => (typeof c === 'string' ? c.trim() + '\n' : c.toString().trim() + '\n'))
    .join('');
}

/**
 * SHA-256 fingerprint of a certificate's DER, as lowercase colon-separated hex.
 *
 * @example
 * ```ts
 * fingerprint(leaf); // 'a1:b2:...'
 * ```
 */
export function fingerprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('hex').match(/../g)!.join(':');
}
