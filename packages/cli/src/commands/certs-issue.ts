import { Option } from 'commander';
import type { Command } from 'commander';
import { SigilError } from '@sigil/errors';
import type { CertificateProfile, IssuedCertificate } from '@sigil/pki';
import { loadCaDirectory } from '../internal/ca-directory';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { prepareOutputDirectory, writeOutputFile } from '../internal/files';
import { DEFAULT_TTL_SECONDS, keyTypeOption, ttlOption } from '../internal/options';
import type { CliKeyType } from '../internal/options';
import { leafFiles, leafPaths } from '../internal/layouts';
import type { LeafPaths } from '../internal/layouts';
import {
  collectDnsNames,
  collectIpAddresses,
  flagParser,
  parseSpiffeIdFlag,
} from '../internal/parse';

/**
 * Options of {@link issueCertificateFiles} (`sigil certs issue`).
 *
 * @example
 * ```ts
 * const options: CertsIssueOptions = { ca: './ca', out: './secrets/web', dnsNames: ['web.example.org'], profile: 'server', ttlSeconds: 7 * 86_400 };
 * await issueCertificateFiles(options);
 * ```
 */
export interface CertsIssueOptions {
  /** Directory holding the CA (`ca.crt` + `ca.key`, or `cert.pem` + `key.pem`). */
  ca: string;
  /** Directory to write `tls.crt`, `tls.key` and `ca.crt` into (created if missing). */
  out: string;
  spiffeId?: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Default 24 hours; never beyond the CA's own expiry. */
  ttlSeconds?: number;
  /** `server` or `client` usage only; default both (`svid`) with a SPIFFE ID, else `server`. */
  profile?: CertificateProfile;
  /** Default `ec-p256`. */
  keyType?: CliKeyType;
  /** Issuance time (tests). Default now. */
  now?: Date;
}

/**
 * An issued certificate as the CLI reports it.
 *
 * @example
 * ```ts
 * const issued: IssuedCertificateSummary = await issueCertificateFiles({ ca: './ca', out: './secrets/api', spiffeId });
 * if (issued.clampedToCaExpiry) console.warn(`the CA expires first: certificate valid until ${issued.notAfter.toISOString()}`);
 * ```
 */
export interface IssuedCertificateSummary {
  spiffeId?: string;
  dnsNames: string[];
  ipAddresses: string[];
  profile: CertificateProfile;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** True when the CA's own expiry cut the requested lifetime short. */
  clampedToCaExpiry: boolean;
}

/**
 * What `sigil certs issue` wrote.
 *
 * @example
 * ```ts
 * const result: CertsIssueResult = await issueCertificateFiles({ ca: './ca', out: './secrets/api', spiffeId: 'spiffe://example.org/svc/api' });
 * console.log(result.files.certificate, result.files.privateKey, result.files.ca); // secrets/api/tls.crt secrets/api/tls.key secrets/api/ca.crt
 * ```
 */
export interface CertsIssueResult extends IssuedCertificateSummary {
  files: LeafPaths;
}

/**
 * Issues a certificate from the CA in `ca` and writes it in the layout of a cert-manager Secret:
 * `tls.crt` (leaf then intermediates), `tls.key` (mode 0600) and `ca.crt` (the trust bundle).
 * Needs at least one identity: a SPIFFE ID, a DNS name or an IP address.
 *
 * @example
 * ```ts
 * await issueCertificateFiles({
 *   ca: './ca',
 *   out: './secrets/api',
 *   spiffeId: 'spiffe://example.org/svc/api',
 *   dnsNames: ['api.default.svc'],
 *   ttlSeconds: 3600,
 * });
 * ```
 */
export async function issueCertificateFiles(options: CertsIssueOptions): Promise<CertsIssueResult> {
  // DNS names are case-insensitive; the CA writes them lowercase.
  const dnsNames = (options.dnsNames ?? []).map((name) => name.toLowerCase());
  const ipAddresses = [...(options.ipAddresses ?? [])];
  if (options.spiffeId === undefined && dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new SigilError(
      'ERR_USAGE',
      'certs issue needs at least one identity: --spiffe-id, --dns or --ip',
    );
  }
  const { ca } = await loadCaDirectory(options.ca);
  await prepareOutputDirectory(options.out, '--out');
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const now = options.now ?? new Date();
  const profile = options.profile ?? (options.spiffeId === undefined ? 'server' : 'svid');
  const issued = await ca.issue({
    ...(options.spiffeId === undefined ? {} : { spiffeId: options.spiffeId }),
    dnsNames,
    ipAddresses,
    profile,
    ttlSeconds,
    keyType: options.keyType ?? 'ec-p256',
    now,
  });
  const files = leafPaths(options.out, 'k8s');
  for (const file of leafFiles(issued, files)) await writeOutputFile(file);
  return {
    ...describeIssued(issued, {
      dnsNames,
      ipAddresses,
      profile,
      requestedNotAfter: now.getTime() + ttlSeconds * 1000,
    }),
    files,
  };
}

/** The result fields shared by the commands that issue certificates. @internal */
export function describeIssued(
  issued: IssuedCertificate,
  extra: {
    dnsNames: string[];
    ipAddresses: string[];
    profile: CertificateProfile;
    requestedNotAfter: number;
  },
): IssuedCertificateSummary {
  return {
    ...(issued.spiffeId === undefined ? {} : { spiffeId: issued.spiffeId }),
    dnsNames: extra.dnsNames,
    ipAddresses: extra.ipAddresses,
    profile: extra.profile,
    serialNumber: issued.serialNumber,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    // Certificates carry whole seconds: compare against the requested expiry rounded down likewise.
    clampedToCaExpiry:
      issued.notAfter.getTime() < Math.floor(extra.requestedNotAfter / 1000) * 1000,
  };
}

/** Human lines describing an issued certificate. @internal */
export function formatIssued(result: IssuedCertificateSummary): string[] {
  const sans = [
    ...(result.spiffeId === undefined ? [] : [`URI:${result.spiffeId}`]),
    ...result.dnsNames.map((n) => `DNS:${n}`),
    ...result.ipAddresses.map((n) => `IP:${n}`),
  ];
  const usage = result.profile === 'svid' ? 'server and client auth' : `${result.profile} auth`;
  return [
    `  SANs         ${sans.join(', ')}`,
    `  usage        ${usage}`,
    `  serial       ${result.serialNumber}`,
    `  expires      ${result.notAfter.toISOString()}${result.clampedToCaExpiry ? ' (cut short: the CA expires then)' : ''}`,
  ];
}

const PROFILE_NAMES: Record<CertificateProfile, string> = {
  svid: 'an X509-SVID',
  server: 'a server certificate',
  client: 'a client certificate',
};

function formatCertsIssue(result: CertsIssueResult): string {
  const identity = result.spiffeId ?? result.dnsNames[0] ?? result.ipAddresses[0];
  return [
    `Issued ${PROFILE_NAMES[result.profile]} for ${identity}`,
    ...formatIssued(result),
    `  wrote        ${result.files.certificate}, ${result.files.privateKey} (mode 0600), ${result.files.ca}`,
  ].join('\n');
}

/** Registers `sigil certs issue`. @internal */
export function registerCertsIssue(certs: Command, context: CommandContext): void {
  withJsonOption(
    certs
      .command('issue')
      .description(
        'Issue a certificate from a CA: writes tls.crt (leaf then intermediates), tls.key (0600) and ca.crt, the layout of a cert-manager Secret.',
      )
      .requiredOption('--ca <dir>', 'directory of the CA (ca.crt + ca.key, or cert.pem + key.pem)')
      .requiredOption(
        '--out <dir>',
        'directory to write tls.crt, tls.key and ca.crt into (created if missing)',
      )
      .option(
        '--spiffe-id <id>',
        'SPIFFE ID for the URI SAN, e.g. spiffe://example.org/svc/api',
        flagParser('--spiffe-id', parseSpiffeIdFlag),
      )
      .option(
        '--dns <name...>',
        'DNS SAN(s); repeat the flag or separate with commas',
        flagParser('--dns', collectDnsNames),
      )
      .option(
        '--ip <addr...>',
        'IP SAN(s), v4 or v6; repeat the flag or separate with commas',
        flagParser('--ip', collectIpAddresses),
      )
      .addOption(ttlOption('lifetime, never beyond the CA'))
      .addOption(
        new Option(
          '--server',
          'server auth usage only (default: server and client with a SPIFFE ID, else server)',
        ).conflicts('client'),
      )
      .addOption(new Option('--client', 'client auth usage only').conflicts('server'))
      .addOption(keyTypeOption('key type of the certificate')),
  ).action(async (flags: CertsIssueFlags) => {
    const result = await issueCertificateFiles({
      ca: flags.ca,
      out: flags.out,
      ...(flags.spiffeId === undefined ? {} : { spiffeId: flags.spiffeId }),
      dnsNames: flags.dns ?? [],
      ipAddresses: flags.ip ?? [],
      ttlSeconds: flags.ttl,
      ...profileFromFlags(flags),
      keyType: flags.keyType,
      ...(context.now ? { now: context.now } : {}),
    });
    const note = svidConformanceNote(result);
    emit(context, flags.json, {
      json: result,
      human: formatCertsIssue(result),
      ...(note === undefined ? {} : { humanNote: note }),
    });
  });
}

interface CertsIssueFlags {
  ca: string;
  out: string;
  spiffeId?: string;
  dns?: string[];
  ip?: string[];
  ttl: number;
  server?: boolean;
  client?: boolean;
  keyType: CliKeyType;
  json?: boolean;
}

/**
 * A SPIFFE ID with a server-only or client-only usage is not a conforming X509-SVID (X509-SVID
 * 4.4 wants both serverAuth and clientAuth when the extension is present): say so. @internal
 */
export function svidConformanceNote(result: IssuedCertificateSummary): string | undefined {
  if (result.spiffeId === undefined || result.profile === 'svid') return undefined;
  return `note: a ${result.profile}-only certificate is not a conforming X509-SVID (X509-SVID 4.4 requires serverAuth and clientAuth); svid verify will reject it`;
}

/** `--server` / `--client` to an explicit profile, or nothing for the default. @internal */
export function profileFromFlags(flags: { server?: boolean; client?: boolean }): {
  profile?: CertificateProfile;
} {
  if (flags.server) return { profile: 'server' };
  if (flags.client) return { profile: 'client' };
  return {};
}
