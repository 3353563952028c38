// Builds deliberately non-conformant certificates with @peculiar/x509 for negative tests: things
// Sigil's own CA refuses to produce (CA leaves, missing key usages, two URI SANs...).
import { webcrypto, X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface ForgedKey {
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicKey: webcrypto.CryptoKey;
}

export interface Forged {
  readonly certificate: X509Certificate;
  readonly pem: string;
  readonly key: ForgedKey;
}

export interface ForgeOptions {
  subject: string;
  /** Issuer; self-signed when absent. */
  issuer?: Forged;
  /** Reuse this key pair (e.g. two roots with the same key, or a re-keyed root with the same name). */
  key?: ForgedKey;
  ca?: boolean;
  pathLength?: number;
  /** Key usage flags; `null` leaves the extension out. Default: keyCertSign|cRLSign for a CA, digitalSignature for a leaf. */
  keyUsage?: number | null;
  keyUsageCritical?: boolean;
  /** EKU OIDs; `null` leaves the extension out. Default serverAuth+clientAuth for a leaf, none for a CA. */
  extendedKeyUsage?: string[] | null;
  uris?: string[];
  dnsNames?: string[];
  notBefore?: Date;
  notAfter?: Date;
  extensions?: x509.Extension[];
}

export async function forgeKey(): Promise<ForgedKey> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as ForgedKey;
}

export async function forge(options: ForgeOptions): Promise<Forged> {
  const key = options.key ?? (await forgeKey());
  const ca = options.ca ?? false;
  const keyUsage =
    options.keyUsage === undefined
      ? ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature
      : options.keyUsage;
  const eku =
    options.extendedKeyUsage === undefined
      ? ca
        ? null
        : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
      : options.extendedKeyUsage;
  const names: x509.JsonGeneralName[] = [
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, options.pathLength, true),
  ];
  if (keyUsage !== null)
    extensions.push(new x509.KeyUsagesExtension(keyUsage, options.keyUsageCritical ?? true));
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  extensions.push(
    await x509.SubjectKeyIdentifierExtension.create(key.publicKey, false, webcrypto as never),
  );
  extensions.push(...(options.extensions ?? []));
  const generated = await x509.X509CertificateGenerator.create(
    {
      subject: options.subject,
      issuer: options.issuer
        ? options.issuer.certificate.subject.replace(/\n/g, ', ')
        : options.subject,
      notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
      notAfter: options.notAfter ?? new Date('2040-01-01T00:00:00Z'),
      publicKey: key.publicKey,
      signingKey: (options.issuer?.key ?? key).privateKey,
      signingAlgorithm: SIGN,
      extensions,
    },
    webcrypto as never,
  );
  const certificate = new X509Certificate(Buffer.from(generated.rawData));
  return { certificate, pem: certificate.toString(), key };
}
