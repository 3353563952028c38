// Every cert-manager Certificate the rendered manifests issue is an X509-SVID that Sigil accepts:
// each is issued for real, with the openssl command and the extensions cert-manager writes for
// its fields (key usage critical, an extended key usage only when a usage asks for one, the URIs
// and DNS names as SANs), by a CA of its trust domain, and checked with @sigil/pki's
// validateX509Svid, the check Sigil's clients and servers apply to a peer.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, parseSpiffeId, validateX509Svid } from '@sigil/pki';
import type { CertificateObject } from './internal/rules/types';
import { KUSTOMIZATIONS } from './internal/layout';
import { loadRendered } from './internal/rendered';

/** cert-manager's `usages` names and the openssl extension value each becomes. */
const KEY_USAGES: Record<string, string> = {
  'digital signature': 'digitalSignature',
  'key encipherment': 'keyEncipherment',
  'content commitment': 'nonRepudiation',
  'key agreement': 'keyAgreement',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
  'server auth': 'serverAuth',
  'client auth': 'clientAuth',
  'code signing': 'codeSigning',
  'email protection': 'emailProtection',
  timestamping: 'timeStamping',
  'ocsp signing': 'OCSPSigning',
};
/** cert-manager's usages when a Certificate names none. */
const DEFAULT_USAGES = ['digital signature', 'key encipherment'];

const work = mkdtempSync(join(tmpdir(), 'sigil-k8s-svids-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The leaf cert-manager would issue for `spec`, signed by a fresh CA of its trust domain. */
async function issueAsCertManager(
  name: string,
  spec: CertificateObject['spec'],
): Promise<{ chainPem: string; bundlePem: string }> {
  const uri = (spec.uris ?? []).find((u) => u.startsWith('spiffe://'));
  const ca = await createCertificateAuthority({
    trustDomain: uri === undefined ? 'no-spiffe-id.example' : parseSpiffeId(uri).trustDomain,
  });
  const dir = mkdtempSync(join(work, `${name}-`));
  const file = (base: string, text?: string): string => {
    if (text !== undefined) writeFileSync(join(dir, base), text);
    return join(dir, base);
  };
  const usages = spec.usages ?? DEFAULT_USAGES;
  const keyUsage = usages.filter((u) => u in KEY_USAGES).map((u) => KEY_USAGES[u]);
  const extendedKeyUsage = usages
    .filter((u) => u in EXTENDED_KEY_USAGES)
    .map((u) => EXTENDED_KEY_USAGES[u]);
  const sans = [
    ...(spec.uris ?? []).map((u) => `URI:${u}`),
    ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`),
  ];
  const extensions = [
    `basicConstraints = critical, CA:${spec.isCA === true ? 'TRUE' : 'FALSE'}`,
    ...(keyUsage.length > 0 ? [`keyUsage = critical, ${keyUsage.join(', ')}`] : []),
    ...(extendedKeyUsage.length > 0 ? [`extendedKeyUsage = ${extendedKeyUsage.join(', ')}`] : []),
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(', ')}`] : []),
  ];
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('key.pem'));
  openssl('req', '-new', '-key', file('key.pem'), '-subj', `/CN=${name}`, '-out', file('csr.pem'));
  openssl(
    'x509',
    '-req',
    '-in',
    file('csr.pem'),
    '-CA',
    file('ca.pem', ca.certificatePem),
    '-CAkey',
    file('ca.key', ca.privateKeyPem),
    '-set_serial',
    '0x1a2b3c',
    '-days',
    '1',
    '-extfile',
    file('extensions.cnf', `${extensions.join('\n')}\n`),
    '-out',
    file('leaf.pem'),
  );
  return { chainPem: readFileSync(file('leaf.pem'), 'utf8'), bundlePem: ca.bundlePem };
}

const certificates = KUSTOMIZATIONS.flatMap(({ dir }) =>
  loadRendered(dir)
    .filter((o) => o.apiVersion === 'cert-manager.io/v1' && o.kind === 'Certificate')
    .map((o) => [`${dir}: ${o.metadata.name}`, o as CertificateObject] as const),
);

test('the renders issue Certificates (a leaf for every sample service and the api-gateway)', () => {
  const names = new Set(certificates.map(([, c]) => c.metadata.name));
  for (const name of ['identity-service', 'user-service', 'content-service', 'api-gateway'])
    expect(names).toContain(name);
});

test.each(certificates.filter(([, c]) => c.spec.isCA !== true))(
  '%s is an X509-SVID Sigil accepts',
  async (_label, certificate) => {
    const { chainPem, bundlePem } = await issueAsCertManager(
      certificate.metadata.name,
      certificate.spec,
    );
    expect(validateX509Svid(chainPem, bundlePem).spiffeId).toBe(certificate.spec.uris![0]);
  },
);

test.each([
  ['client auth only (the api-gateway before issue 13)', ['digital signature', 'client auth']],
  ['no digital signature', ['key encipherment', 'server auth', 'client auth']],
])('a Certificate with %s is refused: the check can fail', async (_label, usages) => {
  const { chainPem, bundlePem } = await issueAsCertManager('broken', {
    secretName: 'broken-tls',
    uris: ['spiffe://sigil.example/svc/broken'],
    usages,
    issuerRef: { name: 'sigil-ca' },
  });
  expect(() => validateX509Svid(chainPem, bundlePem)).toThrow(
    expect.objectContaining({ code: 'ERR_SVID_INVALID' }),
  );
});
