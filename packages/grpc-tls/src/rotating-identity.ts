import type { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import type { CertExpiryReport } from '@sigil/cert-expiry';
import { importPrivateKeyPem, parseCertificatesPem } from '@sigil/pki';
import type { Material, MaterialSources, ParsedMaterial } from './internal/material';
import { MaterialStore } from './internal/material';

/**
 * An identity as PEM text: what an agent holds in memory after enrolment or renewal.
 *
 * @example
 * ```ts
 * const material: IdentityMaterial = { certificateChainPem: issued.chainPem, privateKeyPem: key.privateKeyPem, caPem: issued.caPem };
 * ```
 */
export interface IdentityMaterial {
  /** The leaf certificate, then its intermediates (what `tls.crt` holds). */
  certificateChainPem: string;
  /** The leaf's private key. Never logged. */
  privateKeyPem: string;
  /** The trust bundle that verifies peers (what `ca.crt` holds). */
  caPem: string;
}

/**
 * The identity being served now.
 *
 * @example
 * ```ts
 * const { spiffeId, serialNumber, notAfter } = identity.current;
 * ```
 */
export interface IdentitySnapshot {
  /** 1 for the initial material, +1 per applied update. */
  readonly version: number;
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  readonly caPem: string;
  readonly certificate: X509Certificate;
  /** Lowercase hex serial of the leaf. */
  readonly serialNumber: string;
  /** The leaf's SPIFFE ID, when it has one. */
  readonly spiffeId?: string;
  readonly notAfter: Date;
  /** Days left and status at the last validation. */
  readonly expiry: CertExpiryReport;
}

/**
 * Options of {@link createRotatingIdentity}.
 *
 * @example
 * ```ts
 * createRotatingIdentity(material, { warnDays: 1 }); // short-lived certificates
 * createRotatingIdentity({ certificateChainPem, privateKeyPem, caPem: agentBundlePem }, { requireIssuedByBundle: false });
 * ```
 */
export interface RotatingIdentityOptions {
  /** Clock for the validity checks. Default `() => new Date()`. */
  now?: () => Date;
  /** Days before expiry that count as a warning. Default 30. */
  warnDays?: number;
  /**
   * Check that the certificate chains to `caPem` (the "wrong CA" check). Default true. Set
   * false when `caPem` verifies peers whose certificates come from another CA than this
   * identity's own, e.g. a controller serving a bootstrap-CA certificate and verifying agents
   * against its runtime bundle. The key, validity period and PEM are checked either way.
   */
  requireIssuedByBundle?: boolean;
}

/**
 * An in-memory identity that can be swapped while servers and channels built on it keep
 * running: new handshakes use the new certificate and bundle, open connections and streams are
 * untouched. Pass it as `loadServerTlsConfig({ identity })` / `loadClientTlsConfig({ identity })`.
 *
 * @example
 * ```ts
 * identity.subscribe((current, previous) => logger.info({ from: previous.serialNumber, to: current.serialNumber }, 'renewed'));
 * ```
 */
export interface RotatingIdentity {
  readonly current: IdentitySnapshot;
  /**
   * Validates and installs new material (key matches certificate, certificate within its validity
   * period and issued by the bundle). Throws a `SigilError` and keeps serving the current identity
   * when it does not validate.
   */
  update(material: IdentityMaterial): IdentitySnapshot;
  /** Calls `listener` after each applied update; returns the unsubscribe function. */
  subscribe(listener: (current: IdentitySnapshot, previous: IdentitySnapshot) => void): () => void;
}

const SOURCES: MaterialSources = {
  certificate: 'certificateChainPem',
  privateKey: 'privateKeyPem',
  ca: 'caPem',
};
const stores = new WeakMap<RotatingIdentity, MaterialStore>();

/**
 * Creates a {@link RotatingIdentity} from PEM held in memory, validating it first (throws
 * `ERR_PEM_MALFORMED`, `ERR_KEY_MISMATCH`, `ERR_CERT_EXPIRED`, `ERR_TLS_CA_MISMATCH`, ...).
 *
 * @example
 * ```ts
 * const identity = createRotatingIdentity({ certificateChainPem, privateKeyPem, caPem });
 * const server = await createServerCredentials(loadServerTlsConfig({ identity }));
 * const client = await createClientCredentials(loadClientTlsConfig({ identity, expectedServerId: 'spiffe://example.org/controller' }));
 * // later, after renewal — open streams keep flowing, new handshakes use the new certificate:
 * identity.update({ certificateChainPem: renewed.chainPem, privateKeyPem: renewed.privateKeyPem!, caPem: renewed.caPem });
 * // or only a new trust bundle (a CA rotation), for the next handshakes:
 * identity.update({ ...identity.current, caPem: nextBundlePem });
 * ```
 */
export function createRotatingIdentity(
  material: IdentityMaterial,
  options: RotatingIdentityOptions = {},
): RotatingIdentity {
  const store = new MaterialStore(parseIdentityMaterial(material), SOURCES, {
    now: options.now ?? (() => new Date()),
    warnDays: options.warnDays ?? 30,
    checkIssuer: options.requireIssuedByBundle ?? true,
  });
  const identity: RotatingIdentity = {
    get current() {
      return toSnapshot(store.current);
    },
    update(next) {
      const result = store.apply(() => parseIdentityMaterial(next), SOURCES, 'update');
      if (result.error) throw result.error;
      return toSnapshot(result.material);
    },
    subscribe(listener) {
      return store.subscribe((event) => {
        if (event.type === 'rotated')
          listener(toSnapshot(event.material), toSnapshot(event.previous));
      });
    },
  };
  stores.set(identity, store);
  return identity;
}

/** The store behind an identity made by {@link createRotatingIdentity}. @internal */
export function storeOfIdentity(identity: RotatingIdentity): MaterialStore {
  const store = stores.get(identity);
  if (!store)
    throw new SigilError(
      'ERR_TLS_CONFIG_INVALID',
      'option identity must be created with createRotatingIdentity()',
    );
  return store;
}

function parseIdentityMaterial(material: IdentityMaterial): ParsedMaterial {
  for (const field of ['certificateChainPem', 'privateKeyPem', 'caPem'] as const) {
    if (typeof material?.[field] !== 'string' || material[field].trim() === '') {
      throw new SigilError(
        'ERR_TLS_CONFIG_INVALID',
        `${field} is missing: an identity needs a certificate chain, its private key and a CA bundle`,
        {
          details: { field },
        },
      );
    }
  }
  return {
    chain: parseCertificatesPem(material.certificateChainPem, SOURCES.certificate),
    key: importPrivateKeyPem(material.privateKeyPem, SOURCES.privateKey),
    ca: parseCertificatesPem(material.caPem, SOURCES.ca),
  };
}

function toSnapshot(material: Material): IdentitySnapshot {
  return {
    version: material.version,
    certificateChainPem: material.certificateChainPem!,
    privateKeyPem: material.privateKeyPem!,
    caPem: material.caPem!,
    certificate: material.leaf!,
    serialNumber: material.serialNumber!,
    ...(material.spiffeId ? { spiffeId: material.spiffeId } : {}),
    notAfter: new Date(material.leaf!.validTo),
    expiry: material.expiry!,
  };
}
