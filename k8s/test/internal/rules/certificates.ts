// cert-manager: the CA behind each CA ClusterIssuer, every SVID Certificate, client-only identities and
// the trust domain.
import {
  CLIENT_ONLY_ANNOTATION,
  CLUSTER_RESOURCE_NAMESPACE,
  MAX_SVID_LIFETIME_SECONDS,
  NAME_LABEL,
  isClientOnly,
  spiffeIdParts,
} from './context';
import type { Context } from './context';
import { X509_SVID_RULES } from '@sigil/pki';
import { parseGoDuration } from './quantities';
import type { CertificateObject, ClusterIssuerObject } from './types';

/** The CA Certificate behind each CA ClusterIssuer. */
export function checkIssuers(ctx: Context): void {
  const issuers = ctx.of<ClusterIssuerObject>('cert-manager.io/v1/ClusterIssuer');
  for (const issuer of issuers.filter((i) => i.spec.ca !== undefined)) {
    const secretName = issuer.spec.ca!.secretName;
    const ca = ctx.certificates.find(
      (c) =>
        c.spec.secretName === secretName && c.metadata.namespace === CLUSTER_RESOURCE_NAMESPACE,
    );
    if (ca === undefined) {
      ctx.report(
        'ca',
        issuer,
        `no Certificate in namespace ${CLUSTER_RESOURCE_NAMESPACE} (the cluster resource namespace) produces its Secret ${secretName}`,
      );
      continue;
    }
    if (ca.spec.isCA !== true) ctx.report('ca', ca, 'backs a CA ClusterIssuer but is not isCA');
    if (ca.spec.privateKey?.algorithm !== 'ECDSA') ctx.report('ca', ca, 'the CA key must be ECDSA');
    // A renewed CA with a new key breaks every leaf whose ca.crt still holds the old one.
    if (ca.spec.privateKey?.rotationPolicy !== 'Never')
      ctx.report(
        'ca',
        ca,
        'privateKey.rotationPolicy must be Never for the CA: a new CA key on renewal breaks trust in every unrenewed leaf',
      );
    const parent = issuers.find((i) => i.metadata.name === ca.spec.issuerRef.name);
    if (ca.spec.issuerRef.kind !== 'ClusterIssuer' || parent?.spec.selfSigned === undefined)
      ctx.report(
        'ca',
        ca,
        `must be issued by a selfSigned ClusterIssuer, not ${ca.spec.issuerRef.kind ?? 'Issuer'}/${ca.spec.issuerRef.name}`,
      );
  }
}

/** One X509-SVID Certificate: its SPIFFE ID, usages, key, lifetime and issuer. */
export function checkSvidCertificate(
  ctx: Context,
  certificate: CertificateObject,
  expectedName: string,
  usages: readonly string[],
): void {
  const spec = certificate.spec;
  const uris = spec.uris ?? [];
  const spiffe = uris.filter((u) => u.startsWith('spiffe://'));
  const expectedPath = `/svc/${expectedName}`;
  if (uris.length !== 1 || spiffe.length !== 1)
    ctx.report(
      'certificate',
      certificate,
      `must carry exactly one URI SAN, the SPIFFE ID spiffe://<trust-domain>${expectedPath} (X509-SVID), not ${JSON.stringify(uris)}`,
    );
  else {
    const id = spiffeIdParts(spiffe[0]!);
    if (id === undefined)
      ctx.report('certificate', certificate, `${spiffe[0]} is not a valid SPIFFE ID`);
    else if (id.path !== expectedPath)
      ctx.report(
        'certificate',
        certificate,
        `SPIFFE ID ${spiffe[0]} does not name ${expectedName} (expected spiffe://${id.trustDomain}${expectedPath})`,
      );
  }
  if (spec.isCA === true) ctx.report('certificate', certificate, 'an SVID must not be a CA');
  for (const usage of usages)
    if (!(spec.usages ?? []).includes(usage))
      ctx.report('certificate', certificate, `usages must include "${usage}"`);
  for (const usage of spec.usages ?? [])
    if (!['digital signature', 'key encipherment', ...usages].includes(usage))
      ctx.report('certificate', certificate, `unexpected usage "${usage}"`);
  if (spec.privateKey?.algorithm !== 'ECDSA' || ![256, 384].includes(spec.privateKey.size ?? 256))
    ctx.report('certificate', certificate, 'privateKey must be ECDSA P-256 or P-384');
  if (spec.privateKey?.rotationPolicy !== 'Always')
    ctx.report(
      'certificate',
      certificate,
      'privateKey.rotationPolicy must be Always: every renewal gets a fresh key',
    );
  const duration = parseGoDuration(spec.duration);
  const renewBefore = parseGoDuration(spec.renewBefore);
  if (Number.isNaN(duration) || Number.isNaN(renewBefore))
    ctx.report('certificate', certificate, 'needs an explicit duration and renewBefore');
  else if (
    duration > MAX_SVID_LIFETIME_SECONDS ||
    renewBefore >= duration ||
    renewBefore < duration / 10
  ) {
    ctx.report(
      'certificate',
      certificate,
      `duration ${spec.duration} / renewBefore ${spec.renewBefore}: SVIDs live at most 90 days and renew with between 10% and 100% of their lifetime left`,
    );
  }
  const issuer = ctx
    .of<ClusterIssuerObject>('cert-manager.io/v1/ClusterIssuer')
    .find((i) => i.metadata.name === spec.issuerRef.name);
  if (spec.issuerRef.kind !== 'ClusterIssuer' || issuer?.spec.ca === undefined)
    ctx.report(
      'certificate',
      certificate,
      `issuerRef ${spec.issuerRef.kind ?? 'Issuer'}/${spec.issuerRef.name} is not a CA ClusterIssuer of this render`,
    );
}

/** Certificates no Deployment mounts: client-only identities, annotated as such. */
export function checkClientOnlyCertificates(ctx: Context): void {
  const bound = new Set(ctx.deployments.map((d) => ctx.tlsVolume(d)?.certificate));
  for (const certificate of ctx.certificates) {
    if (bound.has(certificate) || certificate.spec.isCA === true) continue;
    if (!isClientOnly(certificate)) {
      ctx.report(
        'certificate',
        certificate,
        `is mounted by no Deployment; a client identity used outside this render needs the annotation ${CLIENT_ONLY_ANNOTATION}: "true"`,
      );
      continue;
    }
    checkSvidCertificate(
      ctx,
      certificate,
      certificate.metadata.labels?.[NAME_LABEL] ?? certificate.metadata.name,
      ['server auth', 'client auth'],
    );
    if ((certificate.spec.dnsNames ?? []).length > 0)
      ctx.report('certificate', certificate, 'a client-only identity has no DNS names');
  }
}

/** All SVIDs of a render share one trust domain. */
export function checkTrustDomain(ctx: Context): void {
  const domains = new Set(ctx.identities().map((i) => spiffeIdParts(i.spiffeId)?.trustDomain));
  if (domains.size > 1)
    ctx.report(
      'certificate',
      ctx.certificates[0]!,
      `SVIDs span several trust domains: ${[...domains].join(', ')}`,
    );
}

/** cert-manager's usages when a Certificate names none. */
const CERT_MANAGER_DEFAULT_USAGES = ['digital signature', 'key encipherment'];
const EXTENDED_USAGES = new Set([
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
]);

/**
 * Every Certificate of every render: a revision history limit, and for a leaf the X509-SVID
 * rules of @sigil/pki's validateX509Svid as cert-manager's fields express them (cert-manager
 * marks key usage critical and writes an extended key usage only when a usage asks for one).
 */
export function checkSigilSvids(ctx: Context): void {
  for (const certificate of ctx.certificates) {
    const spec = certificate.spec;
    if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit < 1)
      ctx.report(
        'certificate',
        certificate,
        'needs revisionHistoryLimit (at least 1): cert-manager keeps every CertificateRequest otherwise',
      );
    if (spec.isCA === true) continue;
    const usages = spec.usages ?? CERT_MANAGER_DEFAULT_USAGES;
    const broken = (rule: string, why: string): void =>
      ctx.report('certificate', certificate, `is not an X509-SVID Sigil accepts (${rule}): ${why}`);
    if (!usages.includes('digital signature'))
      broken(X509_SVID_RULES.leafDigitalSignature, 'usages lack "digital signature"');
    if (usages.includes('cert sign'))
      broken(X509_SVID_RULES.leafKeyCertSign, 'usages include "cert sign"');
    if (usages.includes('crl sign'))
      broken(X509_SVID_RULES.leafCrlSign, 'usages include "crl sign"');
    const extended = usages.filter((u) => EXTENDED_USAGES.has(u));
    if (
      extended.length > 0 &&
      !(extended.includes('server auth') && extended.includes('client auth'))
    )
      broken(
        X509_SVID_RULES.leafExtendedKeyUsage,
        `usages ${JSON.stringify(usages)} give an extended key usage without both "server auth" and "client auth"`,
      );
    const uris = spec.uris ?? [];
    if (uris.length !== 1)
      broken(
        X509_SVID_RULES.uriSan,
        `uris must hold exactly one SPIFFE ID, not ${JSON.stringify(uris)}`,
      );
    else {
      const id = spiffeIdParts(uris[0]!);
      if (id === undefined) broken(X509_SVID_RULES.uriSan, `${uris[0]} is not a SPIFFE ID`);
      else if (id.path === '')
        broken(X509_SVID_RULES.leafPath, `${uris[0]} names a trust domain, not a workload`);
    }
  }
}
