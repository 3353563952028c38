import type { X509Certificate } from 'node:crypto';
import { createHash } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import type { CertExpiryReport } from '@sigil/cert-expiry';
import { assertCertValid } from '@sigil/cert-expiry';
import type { KeyPair } from '@sigil/pki';
import {
  assertKeyMatchesCertificate,
  spiffeIdOfCertificate,
  toPem,
  validateX509Svid,
  X509_SVID_RULES,
} from '@sigil/pki';

/** Certificates and key as parsed from files or PEM; an identity-less material only trusts (a client without a certificate). */
export interface ParsedMaterial {
  readonly chain?: readonly X509Certificate[];
  readonly key?: KeyPair;
  readonly ca?: readonly X509Certificate[];
}

/**
 * How each part is named in errors: `GRPC_SERVER_CERT_PATH (/etc/grpc-tls/tls.crt)`, `certificateChainPem`, ...
 *
 * @example
 * ```ts
 * const sources: MaterialSources = { certificate: 'GRPC_TLS_CERT (tls.crt)', privateKey: 'GRPC_TLS_KEY (tls.key)', ca: 'GRPC_TLS_CA (ca.crt)' };
 * ```
 */
export interface MaterialSources {
  /** The certificate chain, e.g. `GRPC_TLS_CERT (/etc/grpc-tls/tls.crt)`. */
  readonly certificate: string;
  /** The private key. */
  readonly privateKey: string;
  /** The CA bundle. */
  readonly ca: string;
}

export interface ValidationSettings {
  readonly now: () => Date;
  readonly warnDays: number;
  /**
   * Whether the certificate must chain to the CA bundle: `true` always, `false` never; unset, only
   * for an X509-SVID ({@link issuerCheckApplies}).
   */
  readonly checkIssuer?: boolean;
}

/** Validated TLS material, ready for a secure context. */
export interface Material {
  /** Increases by one per applied rotation; 1 for the first material. */
  readonly version: number;
  readonly certificateChainPem?: string;
  readonly privateKeyPem?: string;
  readonly caPem?: string;
  readonly leaf?: X509Certificate;
  readonly serialNumber?: string;
  readonly spiffeId?: string;
  readonly expiry?: CertExpiryReport;
  /** SHA-256 over every DER, to tell a real change from a re-read of the same files. */
  readonly fingerprint: string;
}

export type MaterialEvent =
  | {
      readonly type: 'rotated';
      readonly material: Material;
      readonly previous: Material;
      readonly trigger: string;
    }
  | {
      readonly type: 'rejected';
      readonly error: SigilError;
      readonly trigger: string;
      readonly current: Material;
    };

/** What happened to one reload attempt. */
export interface ApplyResult {
  readonly status: 'applied' | 'unchanged' | 'rejected';
  readonly trigger: string;
  readonly material: Material;
  readonly error?: SigilError;
}

const CHAIN_RULES: readonly string[] = [
  X509_SVID_RULES.chain,
  X509_SVID_RULES.bundle,
  X509_SVID_RULES.signature,
];

/**
 * Validates material as a whole before anything serves it: the key is the certificate's, the
 * certificate is within its validity period (and warned about inside the warning window), and it
 * chains to the CA bundle (unless `checkIssuer` is false). One error names the part (variable and file) at fault.
 */
export function validateMaterial(
  parsed: ParsedMaterial,
  sources: MaterialSources,
  settings: ValidationSettings,
): Omit<Material, 'version'> {
  const { chain, key, ca } = parsed;
  if ((chain === undefined) !== (key === undefined)) {
    throw new SigilError(
      'ERR_TLS_CONFIG_INVALID',
      `${chain ? sources.privateKey : sources.certificate} is missing: a certificate and its key go together`,
    );
  }
  const now = settings.now();
  let identity: Partial<Material> = {};
  if (chain && key) {
    const leaf = chain[0];
    if (!leaf)
      throw new SigilError('ERR_PEM_MALFORMED', `${sources.certificate}: no certificate`, {
        details: { file: sources.certificate },
      });
    assertKeyMatchesCertificate(key, leaf, {
      keySource: sources.privateKey,
      certificateSource: sources.certificate,
    });
    const expiry = assertCertValid(chain, {
      now,
      warnDays: settings.warnDays,
      source: sources.certificate,
    });
    if (ca && (settings.checkIssuer ?? issuerCheckApplies(leaf)))
      verifyIssuedBy(chain, ca, now, sources);
    const spiffeId = spiffeIdOfCertificate(leaf);
    identity = {
      certificateChainPem: toPem(chain),
      privateKeyPem: key.privateKeyPem,
      leaf,
      serialNumber: leaf.serialNumber.toLowerCase(),
      ...(spiffeId ? { spiffeId } : {}),
      expiry,
    };
  }
  const hash = createHash('sha256');
  for (const certificate of [...(chain ?? []), ...(ca ?? [])]) hash.update(certificate.raw);
  if (key) hash.update(key.privateKey.export({ format: 'der', type: 'pkcs8' }));
  return { ...identity, ...(ca ? { caPem: toPem(ca) } : {}), fingerprint: hash.digest('hex') };
}

/**
 * Whether the "wrong CA" check applies by default: to an X509-SVID (SPIFFE: a workload's bundle
 * holds the CA of its own trust domain, so an SVID it does not verify is a stale or misplaced
 * file). A classic certificate is not checked: a public server certificate next to the private CA
 * that signs client certificates is a valid setup (Nova, MonkCI).
 */
function issuerCheckApplies(leaf: X509Certificate): boolean {
  return spiffeIdOfCertificate(leaf) !== undefined;
}

/**
 * The "wrong CA" check: an X509-SVID is validated as such (pki's path validation against the
 * bundle); a classic certificate must chain through its own intermediates to a bundle root.
 * Throws `ERR_TLS_CA_MISMATCH` naming both sources when the chain does not end at a bundle root,
 * or `ERR_SVID_INVALID` (with `details.rule`) when an X509-SVID breaks another rule.
 *
 * @example
 * ```ts
 * const sources = { certificate: 'GRPC_TLS_CERT (tls.crt)', privateKey: 'GRPC_TLS_KEY (tls.key)', ca: 'GRPC_TLS_CA (ca.crt)' };
 * verifyIssuedBy(readCertificateChainFile('tls.crt'), readTrustBundleFile('ca.crt'), new Date(), sources);
 * ```
 */
export function verifyIssuedBy(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  at: Date,
  sources: MaterialSources,
): void {
  const leaf = chain[0]!;
  const mismatch = (reason: string, cause?: unknown) =>
    new SigilError(
      'ERR_TLS_CA_MISMATCH',
      `${sources.certificate} is not signed by the CA in ${sources.ca}: ${reason}`,
      {
        cause,
        details: {
          certificate: sources.certificate,
          ca: sources.ca,
          issuer: leaf.issuer.replace(/\n/g, ', '),
        },
      },
    );
  if (spiffeIdOfCertificate(leaf) !== undefined) {
    try {
      validateX509Svid(chain, roots, { at });
    } catch (err) {
      const rule = (err as SigilError).details?.['rule'];
      if (typeof rule === 'string' && CHAIN_RULES.includes(rule))
        throw mismatch((err as Error).message, err);
      throw new SigilError(
        (err as SigilError).code ?? 'ERR_SVID_INVALID',
        `${sources.certificate}: ${(err as Error).message}`,
        {
          cause: err,
          details: { ...(err as SigilError).details, certificate: sources.certificate },
        },
      );
    }
    return;
  }
  const pool = chain.slice(1);
  let current = leaf;
  for (let depth = 0; depth <= pool.length; depth += 1) {
    if (
      roots.some((root) => root.ca && current.checkIssued(root) && current.verify(root.publicKey))
    )
      return;
    const next = pool.findIndex(
      (candidate) =>
        candidate.ca && current.checkIssued(candidate) && current.verify(candidate.publicKey),
    );
    if (next === -1) break;
    current = pool.splice(next, 1)[0]!;
  }
  throw mismatch(
    `its issuer "${current.issuer.replace(/\n/g, ', ')}" is not among the ${roots.length} CA certificate(s) there`,
  );
}

/**
 * Holds the material an endpoint serves and swaps it only for material that validates as a
 * whole; anything else is reported and the current material kept. Credentials subscribe to it.
 */
export class MaterialStore {
  private material: Material;
  private readonly listeners = new Set<(event: MaterialEvent) => void>();
  private lastRejection: string | undefined;

  constructor(
    initial: ParsedMaterial,
    sources: MaterialSources,
    private readonly settings: ValidationSettings,
  ) {
    this.material = { ...validateMaterial(initial, sources, settings), version: 1 };
  }

  get current(): Material {
    return this.material;
  }

  /**
   * Loads and validates new material and applies it when it differs. Never throws: a rejection
   * is returned and, unless it repeats the previous one word for word, announced to subscribers.
   */
  apply(load: () => ParsedMaterial, sources: MaterialSources, trigger: string): ApplyResult {
    let validated: Omit<Material, 'version'>;
    try {
      validated = validateMaterial(load(), sources, this.settings);
    } catch (err) {
      const error = SigilError.from(err, 'ERR_TLS_RELOAD_FAILED');
      if (error.message !== this.lastRejection) {
        this.lastRejection = error.message;
        this.emit({ type: 'rejected', error, trigger, current: this.material });
      }
      return { status: 'rejected', trigger, material: this.material, error };
    }
    this.lastRejection = undefined;
    if (validated.fingerprint === this.material.fingerprint)
      return { status: 'unchanged', trigger, material: this.material };
    const previous = this.material;
    this.material = { ...validated, version: previous.version + 1 };
    this.emit({ type: 'rotated', material: this.material, previous, trigger });
    return { status: 'applied', trigger, material: this.material };
  }

  subscribe(listener: (event: MaterialEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: MaterialEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
