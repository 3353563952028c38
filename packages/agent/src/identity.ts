import type { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { parseCertificatesPem, spiffeIdOfCertificate } from '@sigil/pki';

/**
 * The two agent kinds of the control plane.
 *
 * @example
 * ```ts
 * const kind: AgentKind = 'connector';
 * const store = createIdentityStore({ kind, stateDir: '/var/lib/sigil-connector' });
 * ```
 */
export type AgentKind = 'connector' | 'tunneler';

/**
 * Everything an agent holds after enrollment: its key, its X509-SVID, the runtime trust bundle
 * and where to reach the controller (and, for a tunneler, its connector).
 *
 * @example
 * ```ts
 * const identity: AgentIdentity | undefined = await store.load();
 * if (identity) logger.info({ event: 'identity.loaded', spiffeId: identity.spiffeId, notAfter: identity.notAfter.toISOString() }, 'identity.loaded');
 * ```
 */
export interface AgentIdentity {
  kind: AgentKind;
  /** CONNECTOR_ID or TUNNELER_ID. */
  agentId: string;
  /** `spiffe://<td>/connector/<id>` or `spiffe://<td>/tunneler/<id>`. */
  spiffeId: string;
  trustDomain: string;
  /** PKCS#8 PEM. Never logged. */
  privateKeyPem: string;
  /** Leaf then intermediates. */
  certificateChainPem: string;
  /** Runtime CA roots (possibly several during CA rotation). */
  bundlePem: string;
  /** Version of the bundle, as sent by the controller. */
  bundleVersion: number;
  /** The bootstrap CA the controller was verified against at enrollment (pinned). */
  controllerCaPem: string;
  /** The controller addresses used at enrollment, so `run` needs none. */
  controllerAddresses: string[];
  /** Tunnelers: the connector the enrollment token named. */
  connectorId?: string;
  /** Tunnelers: CONNECTOR_ADDR given at enrollment. */
  connectorAddress?: string;
  notBefore: Date;
  notAfter: Date;
  /** When this certificate was obtained (the renewal clock starts here). */
  obtainedAt: Date;
  enrolledAt: Date;
  /** Successful renewals since enrollment. */
  renewals: number;
}

/**
 * What a certificate chain says about itself.
 *
 * @example
 * ```ts
 * const summary: CertificateSummary = summarizeCertificateChain(identity.certificateChainPem, 'tls.crt');
 * console.log(summary.spiffeId, summary.notAfter.toISOString(), summary.leaf.serialNumber);
 * ```
 */
export interface CertificateSummary {
  leaf: X509Certificate;
  spiffeId: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Reads the leaf of a PEM chain: SPIFFE ID and validity. `source` names the file or message in
 * errors.
 *
 * @example
 * ```ts
 * const { spiffeId, notAfter } = summarizeCertificateChain(response.certificateChainPem, 'EnrollResponse');
 * ```
 */
export function summarizeCertificateChain(chainPem: string, source: string): CertificateSummary {
  const [leaf] = parseCertificatesPem(chainPem, source);
  if (leaf === undefined)
    throw new SigilError('ERR_PEM_MALFORMED', `${source}: no certificate found`, {
      details: { source },
    });
  const spiffeId = spiffeIdOfCertificate(leaf);
  if (spiffeId === undefined) {
    throw new SigilError(
      'ERR_SVID_INVALID',
      `${source}: the certificate has no SPIFFE ID (URI SAN)`,
      { details: { source, subject: leaf.subject } },
    );
  }
  return { leaf, spiffeId, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) };
}
