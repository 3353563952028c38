import type { Command } from 'commander';
import { fingerprint } from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { createCaFiles } from '../internal/ca-directory';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { keyTypeOption } from '../internal/options';
import type { CliKeyType } from '../internal/options';
import { caPaths } from '../internal/layouts';
import type { CaPaths } from '../internal/layouts';
import { parseTrustDomainFlag } from '../internal/parse';

/**
 * Options of {@link initCertificateAuthority} (`sigil ca init`).
 *
 * @example
 * ```ts
 * const options: CaInitOptions = { out: './ca', trustDomain: 'example.org', keyType: 'rsa-2048', force: true };
 * await initCertificateAuthority(options);
 * ```
 */
export interface CaInitOptions {
  /** Directory to write `ca.crt` and `ca.key` into (created if missing). */
  out: string;
  trustDomain: string;
  /** Default `ec-p256`. */
  keyType?: CliKeyType;
  /** Overwrite an existing CA. Default false. */
  force?: boolean;
  /** Issuance time (tests). Default now. */
  now?: Date;
}

/**
 * What `sigil ca init` created.
 *
 * @example
 * ```ts
 * const result: CaInitResult = await initCertificateAuthority({ out: './ca', trustDomain: 'example.org' });
 * console.log(`${result.subject} ${result.fingerprint}, valid until ${result.notAfter.toISOString()}`);
 * ```
 */
export interface CaInitResult {
  trustDomain: string;
  keyType: CliKeyType;
  subject: string;
  serialNumber: string;
  /** SHA-256 of the certificate DER, colon-separated hex. */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  files: CaPaths;
}

/**
 * Creates a root CA for a trust domain and writes `ca.crt` and `ca.key` (mode 0600) into
 * `out`. Refuses with `ERR_FILE_EXISTS` to replace an existing CA unless `force` is set.
 *
 * @example
 * ```ts
 * const result = await initCertificateAuthority({ out: './ca', trustDomain: 'example.org' });
 * console.log(result.files.certificate); // ca/ca.crt
 * ```
 */
export async function initCertificateAuthority(options: CaInitOptions): Promise<CaInitResult> {
  const keyType = options.keyType ?? 'ec-p256';
  const paths = caPaths(options.out, 'k8s');
  const ca = await createCaFiles(paths, {
    trustDomain: options.trustDomain,
    keyType,
    force: options.force,
    now: options.now,
  });
  return { ...describeCa(ca, keyType), files: paths };
}

function describeCa(ca: CertificateAuthority, keyType: CliKeyType): Omit<CaInitResult, 'files'> {
  return {
    trustDomain: ca.trustDomain,
    keyType,
    subject: ca.certificate.subject.split('\n').join(', '),
    serialNumber: ca.certificate.serialNumber.toLowerCase(),
    fingerprint: fingerprint(ca.certificate),
    notBefore: new Date(ca.certificate.validFrom),
    notAfter: new Date(ca.certificate.validTo),
  };
}

function formatCaInit(result: CaInitResult): string {
  return [
    `Created a root CA for trust domain ${result.trustDomain} (${result.keyType}, ${result.subject})`,
    `  certificate  ${result.files.certificate}`,
    `  private key  ${result.files.privateKey} (mode 0600: keep it secret)`,
    `  valid until  ${result.notAfter.toISOString()}`,
    `  SHA-256      ${result.fingerprint}`,
  ].join('\n');
}

/** Registers `sigil ca init`. @internal */
export function registerCaInit(ca: Command, context: CommandContext): void {
  withJsonOption(
    ca
      .command('init')
      .description(
        'Create a root CA for a SPIFFE trust domain: writes ca.crt and ca.key (mode 0600).',
      )
      .requiredOption(
        '--out <dir>',
        'directory to write ca.crt and ca.key into (created if missing)',
      )
      .requiredOption(
        '--trust-domain <td>',
        'SPIFFE trust domain, e.g. example.org',
        parseTrustDomainFlag,
      )
      .addOption(keyTypeOption('key type of the CA'))
      .option('--force', 'replace an existing CA in --out (everything it issued stops verifying)'),
  ).action(
    async (flags: {
      out: string;
      trustDomain: string;
      keyType: CliKeyType;
      force?: boolean;
      json?: boolean;
    }) => {
      const result = await initCertificateAuthority({
        ...flags,
        ...(context.now ? { now: context.now } : {}),
      });
      emit(context, flags.json, { json: result, human: formatCaInit(result) });
    },
  );
}
