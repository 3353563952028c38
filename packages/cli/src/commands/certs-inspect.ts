import { existsSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { isSigilError, SigilError } from '@sigil/errors';
import {
  readCertificateChainFile,
  readPrivateKeyFile,
  readTrustBundleFile,
  toPem,
} from '@sigil/pki';
import { ExitCode } from '../exit-codes';
import { describeCertificate } from '../internal/certificate-details';
import type { CertificateDetails } from '../internal/certificate-details';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { flagParser, parseDurationIn } from '../internal/parse';
import { probeTlsServer } from '../internal/tls-probe';

/** `host:port`, `[v6]:port`. */
const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * Options of {@link inspectCertificates} (`sigil certs inspect`).
 *
 * @example
 * ```ts
 * const options: CertsInspectOptions = { target: '127.0.0.1:8443', ca: 'ca.crt', servername: 'api.internal' };
 * const result = await inspectCertificates(options);
 * ```
 */
export interface CertsInspectOptions {
  /** A PEM (or DER) certificate or chain file, or `HOST:PORT` of a TLS server. A file wins when both could be meant. */
  target: string;
  /** Trust bundle to verify the chain against. Without it the chain is shown, not verified. */
  ca?: string;
  /** HOST:PORT only: SNI and the name checked against the certificate. Default the host unless it is an IP address. */
  servername?: string;
  /** HOST:PORT only: client certificate chain and key for servers that require mTLS. */
  cert?: string;
  key?: string;
  /** HOST:PORT only: handshake timeout. Default 10 s. */
  timeoutSeconds?: number;
  /** Time the validity is judged at (tests). Default now. */
  now?: Date;
}

/**
 * What `sigil certs inspect` found: every certificate, leaf first, and whether the chain verified.
 *
 * @example
 * ```ts
 * const result: CertsInspectResult = await inspectCertificates({ target: 'tls.crt', ca: 'ca.crt' });
 * console.log(result.certificates[0]?.spiffeId, result.verification.status);
 * ```
 */
export interface CertsInspectResult {
  source:
    | { kind: 'file'; file: string }
    | { kind: 'server'; address: string; servername?: string; protocol: string; cipher: string };
  certificates: CertificateDetails[];
  /** `verified` against `ca`, `failed` (with the reason), or `not-verified` when no `ca` was given. */
  verification: { status: 'verified' | 'failed' | 'not-verified'; ca?: string; reason?: string };
  /** HOST:PORT with a servername: whether the leaf holds that name. */
  nameCheck?: { servername: string; matches: boolean; reason?: string };
}

/**
 * Shows what a certificate file holds or what a TLS server presents: subject, issuer, SANs,
 * SPIFFE ID, basic constraints, key usage, extended key usage, validity, key type and SHA-256
 * fingerprint of every certificate in the chain, and whether the chain verifies against `ca`.
 * For `HOST:PORT` it runs a real TLS handshake (with a client certificate when given).
 *
 * @example
 * ```ts
 * const file = await inspectCertificates({ target: 'secrets/api/tls.crt', ca: 'secrets/api/ca.crt' });
 * const server = await inspectCertificates({ target: 'localhost:8443' }); // not verified: no ca
 * console.log(server.certificates.map((c) => c.subject));
 * ```
 */
export async function inspectCertificates(
  options: CertsInspectOptions,
): Promise<CertsInspectResult> {
  const now = options.now ?? new Date();
  const bundle =
    options.ca === undefined ? undefined : withFlag('--ca', () => readTrustBundleFile(options.ca!));
  const hostPort = existsSync(options.target) ? null : HOST_PORT.exec(options.target);
  if (hostPort === null) {
    for (const flag of ['servername', 'cert', 'key'] as const) {
      if (options[flag] !== undefined)
        throw new SigilError('ERR_USAGE', `--${flag}: only for a HOST:PORT target, not a file`);
    }
    const chain = readCertificateChainFile(options.target);
    return {
      source: { kind: 'file', file: options.target },
      certificates: chain.map((c) => describeCertificate(c, now)),
      verification: verifyChain(chain, bundle, options.ca, now),
    };
  }
  if ((options.cert === undefined) !== (options.key === undefined))
    throw new SigilError(
      'ERR_USAGE',
      `--${options.cert === undefined ? 'cert' : 'key'}: required with --${options.cert === undefined ? 'key' : 'cert'}`,
    );
  const host = hostPort[1] ?? hostPort[2]!;
  const port = Number(hostPort[3]);
  const probe = await probeTlsServer({
    host,
    port,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
    ...(bundle === undefined ? {} : { ca: bundle }),
    ...(options.cert === undefined
      ? {}
      : {
          clientCertificatePem: toPem(
            withFlag('--cert', () => readCertificateChainFile(options.cert!)),
          ),
          clientKeyPem: withFlag('--key', () => readPrivateKeyFile(options.key!)).privateKeyPem,
        }),
    timeoutMs: (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  });
  return {
    source: {
      kind: 'server',
      address: options.target,
      ...(probe.servername === undefined ? {} : { servername: probe.servername }),
      protocol: probe.protocol,
      cipher: probe.cipher,
    },
    certificates: probe.presented.map((c) => describeCertificate(c, now)),
    verification:
      probe.verification === undefined
        ? { status: 'not-verified' }
        : probe.verification.verified
          ? { status: 'verified', ca: options.ca! }
          : { status: 'failed', ca: options.ca!, reason: probe.verification.reason! },
    ...(probe.nameCheck === undefined || probe.servername === undefined
      ? {}
      : { nameCheck: { servername: probe.servername, ...probe.nameCheck } }),
  };
}

/**
 * Walks a file's chain up to a certificate of the bundle: each certificate must be issued and
 * signed by the next one (from the file or the bundle), be a CA when it issues, and be valid now.
 */
function verifyChain(
  chain: readonly X509Certificate[],
  bundle: readonly X509Certificate[] | undefined,
  caFile: string | undefined,
  now: Date,
): CertsInspectResult['verification'] {
  if (bundle === undefined) return { status: 'not-verified' };
  const failed = (reason: string) => ({ status: 'failed' as const, ca: caFile!, reason });
  const candidates = [...chain.slice(1), ...bundle];
  let current = chain[0]!;
  for (let depth = 0; depth <= candidates.length; depth += 1) {
    const validity = describeCertificate(current, now).validity;
    if (validity !== 'valid') return failed(`"${current.subject}" is ${validity}`);
    if (bundle.some((root) => root.raw.equals(current.raw)))
      return { status: 'verified', ca: caFile! };
    const issuer = candidates.find(
      (c) => c.ca && current.checkIssued(c) && current.verify(c.publicKey),
    );
    if (issuer === undefined)
      return failed(
        `no CA in the file or in --ca signed "${current.subject || '(empty subject)'}"`,
      );
    if (bundle.some((root) => root.raw.equals(issuer.raw))) {
      const issuerValidity = describeCertificate(issuer, now).validity;
      return issuerValidity === 'valid'
        ? { status: 'verified', ca: caFile! }
        : failed(`the root "${issuer.subject}" is ${issuerValidity}`);
    }
    current = issuer;
  }
  return failed('the chain does not end at a certificate of --ca');
}

function withFlag<T>(flag: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!isSigilError(err)) throw err;
    throw new SigilError(err.code, `${flag} ${err.message}`, { cause: err, details: err.details });
  }
}

function formatInspect(result: CertsInspectResult): string {
  const { source, verification } = result;
  const count = `${result.certificates.length} ${result.certificates.length === 1 ? 'certificate' : 'certificates'}`;
  const lines =
    source.kind === 'file'
      ? [`${source.file}: ${count}`]
      : [
          `${source.address}: the server presented ${count} (${source.protocol}, ${source.cipher}${source.servername === undefined ? '' : `, servername ${source.servername}`})`,
        ];
  result.certificates.forEach((c, index) => {
    lines.push(`[${index}] ${roleOf(c, index)}`, ...formatDetails(c));
  });
  lines.push(
    verification.status === 'verified'
      ? `chain: verified against ${verification.ca}`
      : verification.status === 'failed'
        ? `chain: NOT verified against ${verification.ca}: ${verification.reason}`
        : 'chain: not verified (pass --ca FILE to verify it)',
  );
  if (result.nameCheck) {
    lines.push(
      result.nameCheck.matches
        ? `name: ${result.nameCheck.servername} matches the certificate`
        : `name: ${result.nameCheck.servername} does not match: ${result.nameCheck.reason}`,
    );
  }
  return lines.join('\n');
}

function roleOf(c: CertificateDetails, index: number): string {
  if (!c.basicConstraints?.ca) return index === 0 ? 'leaf' : 'not a CA (out of place in a chain)';
  return c.selfSigned ? 'root CA' : 'intermediate CA';
}

function formatDetails(c: CertificateDetails): string[] {
  const sans = [
    ...c.subjectAltNames.uri.map((n) => `URI:${n}`),
    ...c.subjectAltNames.dns.map((n) => `DNS:${n}`),
    ...c.subjectAltNames.ip.map((n) => `IP:${n}`),
    ...c.subjectAltNames.email.map((n) => `email:${n}`),
  ];
  const critical = (ext: { critical: boolean } | undefined) => (ext?.critical ? ' (critical)' : '');
  const basic = c.basicConstraints
    ? `CA:${c.basicConstraints.ca ? 'TRUE' : 'FALSE'}${c.basicConstraints.pathLength === undefined ? '' : `, pathlen:${c.basicConstraints.pathLength}`}${critical(c.basicConstraints)}`
    : '(none)';
  return [
    `  subject      ${c.subject || '(empty)'}`,
    `  issuer       ${c.issuer || '(empty)'}`,
    ...(c.spiffeId === undefined ? [] : [`  SPIFFE ID    ${c.spiffeId}`]),
    `  SANs         ${sans.length === 0 ? '(none)' : sans.join(', ')}`,
    `  key          ${c.keyType}`,
    `  validity     ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()} (${c.validity})`,
    `  basic        ${basic}`,
    `  key usage    ${c.keyUsage ? c.keyUsage.usages.join(', ') + critical(c.keyUsage) : '(none)'}`,
    `  ext. usage   ${c.extendedKeyUsage ? c.extendedKeyUsage.usages.join(', ') + critical(c.extendedKeyUsage) : '(none)'}`,
    `  serial       ${c.serialNumber}`,
    `  SHA-256      ${c.fingerprintSha256}`,
  ];
}

/** Registers `sigil certs inspect`. @internal */
export function registerCertsInspect(certs: Command, context: CommandContext): void {
  withJsonOption(
    certs
      .command('inspect')
      .description(
        'Show a certificate file or what a TLS server presents: subject, SANs, SPIFFE ID, usages, validity, key type, SHA-256 fingerprint of every certificate in the chain, and whether it verifies against --ca.',
      )
      .argument('<target>', 'a PEM or DER certificate or chain file, or HOST:PORT of a TLS server')
      .option('--ca <file>', 'trust bundle to verify the chain against (without it: not verified)')
      .option(
        '--servername <name>',
        'HOST:PORT: SNI and the name to check (default the host unless an IP)',
      )
      .option(
        '--cert <file>',
        'HOST:PORT: client certificate (chain) for servers that require mTLS',
      )
      .option('--key <file>', 'HOST:PORT: the private key of --cert')
      .option(
        '--timeout <duration>',
        'HOST:PORT: handshake timeout (default 10s)',
        flagParser('--timeout', parseDurationIn([1, 3600])),
      ),
  ).action(async (target: string, flags: CertsInspectFlags) => {
    const result = await inspectCertificates({
      target,
      ...(flags.ca === undefined ? {} : { ca: flags.ca }),
      ...(flags.servername === undefined ? {} : { servername: flags.servername }),
      ...(flags.cert === undefined ? {} : { cert: flags.cert }),
      ...(flags.key === undefined ? {} : { key: flags.key }),
      ...(flags.timeout === undefined ? {} : { timeoutSeconds: flags.timeout }),
      ...(context.now ? { now: context.now } : {}),
    });
    emit(context, flags.json, {
      exitCode: result.verification.status === 'failed' ? ExitCode.Failure : ExitCode.Ok,
      json: result,
      human: formatInspect(result),
    });
  });
}

interface CertsInspectFlags {
  ca?: string;
  servername?: string;
  cert?: string;
  key?: string;
  timeout?: number;
  json?: boolean;
}
