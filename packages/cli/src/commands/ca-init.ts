import type { Command } from 'commander';
import { SigilError } from '@sigil/errors';
import { fingerprint } from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { createCaFiles, loadCaDirectory } from '../internal/ca-directory';
import { describeCertificate } from '../internal/certificate-details';
import { prepareOutputDirectory } from '../internal/files';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { keyTypeOption } from '../internal/options';
import type { CliKeyType } from '../internal/options';
import { caPaths } from '../internal/layouts';
import type { CaPaths } from '../internal/layouts';
import {
  flagParser,
  parseDurationIn,
  parsePathLength,
  parseTrustDomainFlag,
} from '../internal/parse';

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
  /** Required for a root; an intermediate is in its parent's trust domain (when given, it must match). */
  trustDomain?: string;
  /**
   * Directory of the CA that signs this one: creates an intermediate CA (pathLen one below the
   * parent's, the parent's name constraints, never outliving the parent) instead of a root.
   */
  parent?: string;
  /** Lifetime. Default 10 years for a root, 1 year for an intermediate. */
  ttlSeconds?: number;
  /** pathLenConstraint. Default 1 for a root, 0 for an intermediate (below the parent's). */
  pathLength?: number;
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
  /** `root`, or `intermediate` (signed by the CA in `parent`). */
  kind: 'root' | 'intermediate';
  trustDomain: string;
  keyType: CliKeyType;
  subject: string;
  serialNumber: string;
  /** SHA-256 of the certificate DER, colon-separated hex. */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints pathLenConstraint: how many intermediates may follow below this CA. */
  pathLength: number;
  /** The signing CA of an intermediate: its directory and subject. */
  parent?: { dir: string; subject: string };
  files: CaPaths;
}

/**
 * Creates a root CA for a trust domain, or with `parent` an intermediate CA signed by the CA in
 * that directory, and writes `ca.crt` and `ca.key` (mode 0600) into `out`. An intermediate's
 * `ca.crt` holds the intermediate, then the parent's chain up to and including the root, so
 * `sigil certs issue --ca out` writes the leaf then the intermediates in `tls.crt` and the root in
 * `ca.crt`. Refuses with `ERR_FILE_EXISTS` to replace an existing CA unless `force` is set.
 *
 * @example
 * ```ts
 * await initCertificateAuthority({ out: './root', trustDomain: 'example.org' });
 * const result = await initCertificateAuthority({ out: './issuing', parent: './root' });
 * console.log(result.kind, result.pathLength); // intermediate 0
 * ```
 */
export async function initCertificateAuthority(options: CaInitOptions): Promise<CaInitResult> {
  const keyType = options.keyType ?? 'ec-p256';
  const paths = caPaths(options.out, 'k8s');
  const parent =
    options.parent === undefined ? undefined : await loadCaDirectory(options.parent, '--parent');
  const trustDomain = options.trustDomain ?? parent?.ca.trustDomain;
  if (trustDomain === undefined) {
    throw new SigilError(
      'ERR_USAGE',
      '--trust-domain: required for a root CA (an intermediate takes the trust domain of --parent)',
    );
  }
  if (parent !== undefined && trustDomain !== parent.ca.trustDomain) {
    throw new SigilError(
      'ERR_TRUST_DOMAIN_INVALID',
      `--trust-domain: ${trustDomain} is not the trust domain of the --parent CA (${parent.ca.trustDomain}); an intermediate stays in its parent's trust domain`,
      { details: { trustDomain, parentTrustDomain: parent.ca.trustDomain } },
    );
  }
  await prepareOutputDirectory(options.out, '--out');
  const ca = await createCaFiles(paths, {
    trustDomain,
    keyType,
    ...(parent === undefined ? {} : { parent: parent.ca }),
    ttlSeconds: options.ttlSeconds,
    pathLength: options.pathLength,
    force: options.force,
    now: options.now,
  });
  return {
    ...describeCa(ca, keyType),
    ...(parent === undefined
      ? {}
      : { parent: { dir: options.parent!, subject: oneLine(parent.ca.certificate.subject) } }),
    files: paths,
  };
}

function describeCa(
  ca: CertificateAuthority,
  keyType: CliKeyType,
): Omit<CaInitResult, 'files' | 'parent'> {
  return {
    kind: ca.intermediatesPem === '' ? 'root' : 'intermediate',
    trustDomain: ca.trustDomain,
    keyType,
    subject: oneLine(ca.certificate.subject),
    serialNumber: ca.certificate.serialNumber.toLowerCase(),
    fingerprint: fingerprint(ca.certificate),
    notBefore: new Date(ca.certificate.validFrom),
    notAfter: new Date(ca.certificate.validTo),
    pathLength: pathLengthOf(ca),
  };
}

function pathLengthOf(ca: CertificateAuthority): number {
  return describeCertificate(ca.certificate, new Date()).basicConstraints?.pathLength ?? 0;
}

function oneLine(subject: string): string {
  return subject.split('\n').join(', ');
}

function formatCaInit(result: CaInitResult): string {
  const what =
    result.kind === 'root'
      ? `Created a root CA for trust domain ${result.trustDomain}`
      : `Created an intermediate CA for trust domain ${result.trustDomain}, signed by ${result.parent!.subject} (${result.parent!.dir})`;
  return [
    `${what} (${result.keyType}, ${result.subject}, pathlen ${result.pathLength})`,
    `  certificate  ${result.files.certificate}${result.kind === 'root' ? '' : ' (this CA, then its chain up to the root)'}`,
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
        'Create a root CA for a SPIFFE trust domain, or with --intermediate --parent DIR an intermediate CA signed by the CA in DIR: writes ca.crt and ca.key (mode 0600).',
      )
      .requiredOption(
        '--out <dir>',
        'directory to write ca.crt and ca.key into (created if missing)',
      )
      .option(
        '--trust-domain <td>',
        "SPIFFE trust domain, e.g. example.org (required for a root; an intermediate takes its parent's)",
        flagParser('--trust-domain', parseTrustDomainFlag),
      )
      .option('--intermediate', 'create an intermediate CA signed by the CA in --parent')
      .option(
        '--parent <dir>',
        'with --intermediate: directory of the signing CA (ca.crt + ca.key, or cert.pem + key.pem)',
      )
      .option(
        '--ttl <duration>',
        'lifetime: 90d, 1y, 10y (default 10y for a root, 1y for an intermediate, never past the parent)',
        flagParser('--ttl', parseDurationIn()),
      )
      .option(
        '--path-length <n>',
        'how many intermediates may follow below this CA (default 1 for a root, 0 for an intermediate)',
        flagParser('--path-length', parsePathLength),
      )
      .addOption(keyTypeOption('key type of the CA'))
      .option('--force', 'replace an existing CA in --out (everything it issued stops verifying)'),
  ).action(async (flags: CaInitFlags) => {
    if (flags.intermediate && flags.parent === undefined)
      throw new SigilError(
        'ERR_USAGE',
        "--parent: required with --intermediate (the signing CA's directory)",
      );
    if (!flags.intermediate && flags.parent !== undefined)
      throw new SigilError(
        'ERR_USAGE',
        '--parent: only with --intermediate (a root CA has no parent)',
      );
    const result = await initCertificateAuthority({
      out: flags.out,
      ...(flags.trustDomain === undefined ? {} : { trustDomain: flags.trustDomain }),
      ...(flags.parent === undefined ? {} : { parent: flags.parent }),
      ...(flags.ttl === undefined ? {} : { ttlSeconds: flags.ttl }),
      ...(flags.pathLength === undefined ? {} : { pathLength: flags.pathLength }),
      keyType: flags.keyType,
      ...(flags.force === undefined ? {} : { force: flags.force }),
      ...(context.now ? { now: context.now } : {}),
    });
    emit(context, flags.json, { json: result, human: formatCaInit(result) });
  });
}

interface CaInitFlags {
  out: string;
  trustDomain?: string;
  intermediate?: boolean;
  parent?: string;
  ttl?: number;
  pathLength?: number;
  keyType: CliKeyType;
  force?: boolean;
  json?: boolean;
}
