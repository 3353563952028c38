import { Option } from 'commander';
import type { Command } from 'commander';
import { SigilError } from '@sigil/errors';
import { CERTIFICATE_MODE } from '@sigil/pki';
import type { CertificateProfile } from '@sigil/pki';
import { loadCaDirectory } from '../internal/ca-directory';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { readTextFile, writeOutputFile } from '../internal/files';
import { DEFAULT_TTL_SECONDS, ttlOption } from '../internal/options';
import {
  collectDnsNames,
  collectIpAddresses,
  flagParser,
  parseSpiffeIdFlag,
} from '../internal/parse';
import { describeIssued, formatIssued, profileFromFlags, svidConformanceNote } from './certs-issue';
import type { IssuedCertificateSummary } from './certs-issue';

/**
 * Options of {@link signCsrFile} (`sigil csr sign`).
 *
 * @example
 * ```ts
 * const options: CsrSignOptions = { ca: './ca', csr: 'worker.csr', spiffeId: 'spiffe://example.org/svc/worker', profile: 'client', ttlSeconds: 3600 };
 * const result = await signCsrFile(options);
 * ```
 */
export interface CsrSignOptions {
  /** Directory of the CA (`ca.crt` + `ca.key`, or `cert.pem` + `key.pem`). */
  ca: string;
  /** PKCS#10 CSR file (PEM). Only its public key is used. */
  csr: string;
  /** The identity to certify: the CA decides it, not the CSR. */
  spiffeId: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Default 24 hours; never beyond the CA's own expiry. */
  ttlSeconds?: number;
  /** Default `svid` (server and client). */
  profile?: CertificateProfile;
  /** Write the certificate chain here (mode 0644) instead of only returning it. */
  out?: string;
  /** Issuance time (tests). Default now. */
  now?: Date;
}

/**
 * What `sigil csr sign` issued.
 *
 * @example
 * ```ts
 * const result: CsrSignResult = await signCsrFile({ ca: './ca', csr: 'api.csr', spiffeId: 'spiffe://example.org/svc/api' });
 * writeFileSync('tls.crt', result.chainPem);
 * writeFileSync('ca.crt', result.caPem);
 * ```
 */
export interface CsrSignResult extends IssuedCertificateSummary {
  /** Leaf then intermediates, PEM: the requester's `tls.crt`. */
  chainPem: string;
  /** Trust bundle, PEM: the requester's `ca.crt`. */
  caPem: string;
  /** The file written, with `out`. */
  file?: string;
}

const CSR_ERROR_CODES = new Set(['ERR_CSR_INVALID', 'ERR_PEM_MALFORMED', 'ERR_KEY_UNSUPPORTED']);

/**
 * Signs a PKCS#10 CSR with the CA in `ca` under the CA's policy: the CSR contributes only its
 * public key (after its self-signature and key strength are checked); identity, SANs, lifetime
 * and usages come from the options. A bad CSR raises `ERR_CSR_INVALID` naming the file.
 *
 * @example
 * ```ts
 * const result = await signCsrFile({ ca: './ca', csr: 'api.csr', spiffeId: 'spiffe://example.org/svc/api', out: 'tls.crt' });
 * console.log(result.notAfter);
 * ```
 */
export async function signCsrFile(options: CsrSignOptions): Promise<CsrSignResult> {
  const csrPem = await readTextFile(options.csr, '--csr');
  const { ca } = await loadCaDirectory(options.ca);
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const now = options.now ?? new Date();
  // DNS names are case-insensitive; the CA writes them lowercase.
  const dnsNames = (options.dnsNames ?? []).map((name) => name.toLowerCase());
  const ipAddresses = [...(options.ipAddresses ?? [])];
  const profile = options.profile ?? 'svid';
  let issued;
  try {
    issued = await ca.signCsr(csrPem, {
      spiffeId: options.spiffeId,
      dnsNames,
      ipAddresses,
      profile,
      ttlSeconds,
      now,
    });
  } catch (err) {
    if (
      err instanceof SigilError &&
      CSR_ERROR_CODES.has(err.code) &&
      !err.message.includes(options.csr)
    ) {
      // pki names the request "CSR"; name the file instead.
      throw new SigilError(err.code, `--csr ${options.csr}: ${err.message.replace(/^CSR: /, '')}`, {
        cause: err,
        details: { ...err.details, file: options.csr },
      });
    }
    throw err;
  }
  if (options.out !== undefined)
    await writeOutputFile({ path: options.out, content: issued.chainPem, mode: CERTIFICATE_MODE });
  const described = describeIssued(issued, {
    dnsNames,
    ipAddresses,
    profile,
    requestedNotAfter: now.getTime() + ttlSeconds * 1000,
  });
  return {
    ...described,
    chainPem: issued.chainPem,
    caPem: issued.caPem,
    ...(options.out === undefined ? {} : { file: options.out }),
  };
}

/** Registers `sigil csr sign`. @internal */
export function registerCsrSign(csr: Command, context: CommandContext): void {
  withJsonOption(
    csr
      .command('sign')
      .description(
        'Sign a PKCS#10 CSR: the CA decides identity, SANs, lifetime and usages; the CSR only supplies the public key. Prints the certificate chain (PEM) or writes it to --out.',
      )
      .requiredOption('--ca <dir>', 'directory of the CA (ca.crt + ca.key, or cert.pem + key.pem)')
      .requiredOption('--csr <file>', 'PKCS#10 certificate signing request, PEM')
      .requiredOption(
        '--spiffe-id <id>',
        'SPIFFE ID to certify, e.g. spiffe://example.org/svc/api',
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
        new Option('--server', 'server auth usage only (default: server and client)').conflicts(
          'client',
        ),
      )
      .addOption(new Option('--client', 'client auth usage only').conflicts('server'))
      .option(
        '--out <file>',
        'write the certificate chain (leaf then intermediates) to this file instead of standard output',
      ),
  ).action(
    async (flags: {
      ca: string;
      csr: string;
      spiffeId: string;
      dns?: string[];
      ip?: string[];
      ttl: number;
      server?: boolean;
      client?: boolean;
      out?: string;
      json?: boolean;
    }) => {
      const result = await signCsrFile({
        ca: flags.ca,
        csr: flags.csr,
        spiffeId: flags.spiffeId,
        dnsNames: flags.dns ?? [],
        ipAddresses: flags.ip ?? [],
        ttlSeconds: flags.ttl,
        ...profileFromFlags(flags),
        ...(flags.out === undefined ? {} : { out: flags.out }),
        ...(context.now ? { now: context.now } : {}),
      });
      const note = svidConformanceNote(result);
      const summary = [
        `Signed ${flags.csr} for ${result.spiffeId}`,
        ...formatIssued(result),
        ...(result.file ? [`  wrote        ${result.file}`] : []),
      ].join('\n');
      if (result.file === undefined)
        emit(context, flags.json, {
          json: result,
          human: result.chainPem,
          humanNote: [summary, ...(note ? [note] : [])].join('\n'),
        });
      else
        emit(context, flags.json, {
          json: result,
          human: summary,
          ...(note === undefined ? {} : { humanNote: note }),
        });
    },
  );
}
