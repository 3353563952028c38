import { join } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { fingerprint, formatSpiffeId } from '@sigil/pki';
import { createCaFiles } from '../internal/ca-directory';
import { emit, progressWriter, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { prepareOutputDirectory, writeOutputFile } from '../internal/files';
import { DEFAULT_TTL_SECONDS, keyTypeOption, ttlOption } from '../internal/options';
import type { CliKeyType } from '../internal/options';
import { caPaths, LAYOUTS, leafFiles, leafPaths } from '../internal/layouts';
import type { CaPaths, Layout, LeafPaths } from '../internal/layouts';
import {
  flagParser,
  parseChoice,
  parseIdentityNames,
  parseTrustDomainFlag,
} from '../internal/parse';
import { describeIssued } from './certs-issue';
import type { IssuedCertificateSummary } from './certs-issue';

/** DNS SANs every generated identity gets besides its own name, so it also works on one machine. */
const GENERATED_LOCAL_DNS_NAMES: readonly string[] = ['localhost'];
/** IP SANs every generated identity gets. */
const GENERATED_LOCAL_IP_ADDRESSES: readonly string[] = ['127.0.0.1', '::1'];

/**
 * Options of {@link generateCertificateSet} (`sigil certs generate`).
 *
 * @example
 * ```ts
 * const options: CertsGenerateOptions = { out: './certs', trustDomain: 'example.org', names: ['api', 'worker'], ttlSeconds: 3600 };
 * await generateCertificateSet(options);
 * ```
 */
export interface CertsGenerateOptions {
  /** Directory to write the CA and one directory per name into. */
  out: string;
  trustDomain: string;
  /** Lowercase DNS-style names; each becomes `spiffe://<trustDomain>/svc/<name>`. */
  names: readonly string[];
  /** Default `k8s`. */
  layout?: Layout;
  /** Lifetime of each identity certificate. Default 24 hours. */
  ttlSeconds?: number;
  /** Key type of the CA and every identity. Default `ec-p256`. */
  keyType?: CliKeyType;
  /** Replace an existing CA in `out/ca`. Default false. */
  force?: boolean;
  /** Called with one line per certificate written. */
  onProgress?: (line: string) => void;
  /** Issuance time (tests). Default now. */
  now?: Date;
}

/**
 * One generated identity.
 *
 * @example
 * ```ts
 * for (const identity of (await generateCertificateSet(options)).identities) {
 *   console.log(identity.name, identity.spiffeId, identity.files.certificate);
 * }
 * ```
 */
export interface GeneratedIdentity extends IssuedCertificateSummary {
  name: string;
  files: LeafPaths;
}

/**
 * What `sigil certs generate` wrote.
 *
 * @example
 * ```ts
 * const result: CertsGenerateResult = await generateCertificateSet({ out: './certs', trustDomain: 'example.org', names: ['api'] });
 * console.log(result.ca.files.certificate, result.ca.fingerprint, result.identities.length);
 * ```
 */
export interface CertsGenerateResult {
  trustDomain: string;
  layout: Layout;
  keyType: CliKeyType;
  ca: { files: CaPaths; fingerprint: string; notAfter: Date };
  identities: GeneratedIdentity[];
}

/**
 * Creates a root CA in `out/ca` and one identity per name in `out/<name>`, writing a progress
 * line per certificate. Each identity is an X509-SVID for `spiffe://<trustDomain>/svc/<name>`
 * with DNS SANs `<name>` and `localhost` and IP SANs `127.0.0.1` and `::1`, usable as server and
 * client. Layout `k8s`: `<name>/tls.crt|tls.key|ca.crt` and `ca/ca.crt|ca.key`; layout `pem`:
 * `<name>/cert.pem|key.pem|ca.pem` and `ca/cert.pem|key.pem`. Keys are written with mode 0600.
 *
 * @example
 * ```ts
 * await generateCertificateSet({
 *   out: './certs',
 *   trustDomain: 'example.org',
 *   names: ['api', 'worker'],
 *   layout: 'pem',
 *   onProgress: (line) => console.log(line),
 * });
 * ```
 */
export async function generateCertificateSet(
  options: CertsGenerateOptions,
): Promise<CertsGenerateResult> {
  const layout = options.layout ?? 'k8s';
  const keyType = options.keyType ?? 'ec-p256';
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const now = options.now ?? new Date();
  const progress = options.onProgress ?? (() => undefined);
  const total = options.names.length + 1;
  const caFilePaths = caPaths(join(options.out, 'ca'), layout);
  await prepareOutputDirectory(options.out, '--out');
  const ca = await createCaFiles(caFilePaths, {
    trustDomain: options.trustDomain,
    keyType,
    force: options.force,
    now,
  });
  progress(
    `[1/${total}] CA ${ca.trustDomain} -> ${caFilePaths.certificate}, ${caFilePaths.privateKey}`,
  );
  const identities: GeneratedIdentity[] = [];
  for (const [index, name] of options.names.entries()) {
    const spiffeId = String(formatSpiffeId(ca.trustDomain, 'svc', name));
    const dnsNames = [name, ...GENERATED_LOCAL_DNS_NAMES.filter((n) => n !== name)];
    const ipAddresses = [...GENERATED_LOCAL_IP_ADDRESSES];
    const issued = await ca.issue({
      spiffeId,
      dnsNames,
      ipAddresses,
      profile: 'svid',
      ttlSeconds,
      keyType,
      now,
    });
    const files = leafPaths(join(options.out, name), layout);
    for (const file of leafFiles(issued, files)) await writeOutputFile(file);
    progress(
      `[${index + 2}/${total}] ${spiffeId} -> ${files.certificate}, ${files.privateKey}, ${files.ca}`,
    );
    identities.push({
      name,
      ...describeIssued(issued, {
        dnsNames,
        ipAddresses,
        profile: 'svid',
        requestedNotAfter: now.getTime() + ttlSeconds * 1000,
      }),
      files,
    });
  }
  return {
    trustDomain: ca.trustDomain,
    layout,
    keyType,
    ca: {
      files: caFilePaths,
      fingerprint: fingerprint(ca.certificate),
      notAfter: new Date(ca.certificate.validTo),
    },
    identities,
  };
}

function formatCertsGenerate(result: CertsGenerateResult, out: string): string {
  const expiry = result.identities[0]?.notAfter.toISOString();
  return [
    `Generated a CA and ${result.identities.length} ${result.identities.length === 1 ? 'identity' : 'identities'} for ${result.trustDomain} in ${out} (${result.layout} layout, certificates expire ${expiry})`,
    `Issue more with: sigil certs issue --ca ${join(out, 'ca')} --out DIR --spiffe-id spiffe://${result.trustDomain}/svc/NAME`,
  ].join('\n');
}

/** Registers `sigil certs generate`. @internal */
export function registerCertsGenerate(certs: Command, context: CommandContext): void {
  withJsonOption(
    certs
      .command('generate')
      .description(
        'Create a CA and one identity per name in one go: spiffe://TD/svc/NAME with DNS SANs NAME and localhost, IP SANs 127.0.0.1 and ::1, server and client usage.',
      )
      .requiredOption(
        '--out <dir>',
        'directory for ca/ and one directory per name (created if missing)',
      )
      .requiredOption(
        '--trust-domain <td>',
        'SPIFFE trust domain, e.g. example.org',
        flagParser('--trust-domain', parseTrustDomainFlag),
      )
      .requiredOption(
        '--names <a,b,c>',
        'comma-separated identity names (lowercase, DNS-style)',
        flagParser('--names', parseIdentityNames),
      )
      .addOption(
        new Option(
          '--layout <layout>',
          'k8s: NAME/tls.crt|tls.key|ca.crt; pem: NAME/cert.pem|key.pem|ca.pem',
        )
          .argParser(flagParser('--layout', parseChoice(LAYOUTS, 'a layout')))
          .default('k8s'),
      )
      .addOption(ttlOption('lifetime of each identity'))
      .addOption(keyTypeOption('key type of the CA and of every identity'))
      .option('--force', 'replace an existing CA in --out/ca'),
  ).action(
    async (flags: {
      out: string;
      trustDomain: string;
      names: string[];
      layout: Layout;
      ttl: number;
      keyType: CliKeyType;
      force?: boolean;
      json?: boolean;
    }) => {
      const result = await generateCertificateSet({
        out: flags.out,
        trustDomain: flags.trustDomain,
        names: flags.names,
        layout: flags.layout,
        ttlSeconds: flags.ttl,
        keyType: flags.keyType,
        force: flags.force ?? false,
        onProgress: progressWriter(context, flags.json),
        ...(context.now ? { now: context.now } : {}),
      });
      emit(context, flags.json, { json: result, human: formatCertsGenerate(result, flags.out) });
    },
  );
}
