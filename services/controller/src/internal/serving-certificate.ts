import { isIP } from 'node:net';
import type pino from 'pino';
import { crossSignCertificateAuthority } from '@sigil/pki';
import type { CertificateAuthority, IssuedCertificate } from '@sigil/pki';

/** Options of {@link createServingCertificate}. */
export interface ServingCertificateOptions {
  bootstrap: CertificateAuthority;
  /** The current runtime CA, read at every issuance (see {@link createServingCertificate}). */
  runtime: () => CertificateAuthority;
  trustDomain: string;
  /** DNS names and IP addresses the certificate names. */
  names: readonly string[];
  ttlSeconds: number;
  clock: () => Date;
  logger: pino.Logger;
  /** Called with every renewed certificate (to swap it into the server credentials). */
  onIssued: (certificate: IssuedCertificate) => void;
}

/** The controller's own TLS certificate, renewed at two thirds of its lifetime. */
export interface ServingCertificate {
  readonly current: IssuedCertificate;
  /** Issues a new certificate now and reschedules. */
  renew(): Promise<void>;
  /** Stops renewing. */
  close(): void;
}

/**
 * Issues the controller's serving certificate and keeps it renewed. A self-signed runtime CA
 * signs it, and the chain carries that CA cross-signed by the bootstrap CA: an enrolled agent
 * verifies it against its runtime bundle (so it survives a new bootstrap CA), a new agent holding
 * only the bootstrap CA through the cross-certificate. An upstream runtime CA (an intermediate
 * under an operator root) cannot be cross-signed usefully (two issuers of one name, and OpenSSL
 * keeps the first), so then the bootstrap CA signs it as before.
 *
 * @example
 * ```ts
 * const serving = await createServingCertificate({ bootstrap, runtime: () => trust.runtime().ca, trustDomain, names: ['localhost'], ttlSeconds: 86400, clock, logger, onIssued });
 * ```
 */
export async function createServingCertificate(
  options: ServingCertificateOptions,
): Promise<ServingCertificate> {
  const { bootstrap, clock, logger } = options;
  const unique = [...new Set(options.names)];
  // The cross-certificate of the runtime CA last used, made once per runtime CA.
  let cross: { caPem: string; pem: string } | undefined;
  const issue = async (): Promise<IssuedCertificate> => {
    const runtime = options.runtime();
    const upstream = runtime.intermediatesPem !== '';
    const now = clock();
    const issued = await (upstream ? bootstrap : runtime).issue({
      spiffeId: `spiffe://${options.trustDomain}/controller`,
      dnsNames: unique.filter((n) => isIP(n) === 0),
      ipAddresses: unique.filter((n) => isIP(n) !== 0),
      profile: 'server',
      ttlSeconds: options.ttlSeconds,
      now,
    });
    if (upstream) return issued;
    if (cross?.caPem !== runtime.certificatePem)
      cross = {
        caPem: runtime.certificatePem,
        pem: await crossSignCertificateAuthority(bootstrap, runtime.certificate, { now }),
      };
    return { ...issued, chainPem: issued.certificatePem + cross.pem };
  };
  let current = await issue();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = (): void => {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(
      () => {
        renew().catch((err: unknown) => {
          logger.error(
            { event: 'controller.certificate_renewal_failed', err },
            'controller.certificate_renewal_failed',
          );
          schedule();
        });
      },
      servingRenewalDelayMs(current, clock()),
    );
    timer.unref();
  };
  async function renew(): Promise<void> {
    current = await issue();
    options.onIssued(current);
    logger.info(
      {
        event: 'controller.certificate_renewed',
        serial: current.serialNumber,
        notAfter: current.notAfter.toISOString(),
      },
      'controller.certificate_renewed',
    );
    schedule();
  }
  schedule();
  return {
    get current() {
      return current;
    },
    renew,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/**
 * When to renew the controller's own certificate: at two thirds of its lifetime (at least one
 * second from now).
 *
 * @example
 * ```ts
 * setTimeout(renew, servingRenewalDelayMs(current, new Date()));
 * ```
 */
export function servingRenewalDelayMs(
  certificate: { notBefore: Date; notAfter: Date },
  now: Date,
): number {
  const start = certificate.notBefore.getTime();
  const at = start + ((certificate.notAfter.getTime() - start) * 2) / 3;
  return Math.min(Math.max(1000, at - now.getTime()), 2 ** 31 - 1);
}
