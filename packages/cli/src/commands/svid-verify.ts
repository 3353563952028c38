import type { Command } from 'commander';
import { isSigilError } from '@sigil/errors';
import { readCertificateChainFile, readTrustBundleFile, validateX509Svid } from '@sigil/pki';
import { ExitCode } from '../exit-codes';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { flagParser, parseIsoTime, parseTrustDomainFlag } from '../internal/parse';

/**
 * Options of {@link verifySvidFiles} (`sigil svid verify`).
 *
 * @example
 * ```ts
 * const options: SvidVerifyOptions = { bundle: 'ca.crt', cert: 'tls.crt', trustDomain: 'example.org', at: new Date('2025-06-01T00:00:00Z') };
 * const result = await verifySvidFiles(options);
 * ```
 */
export interface SvidVerifyOptions {
  /** Trust bundle file: one or more root certificates (several during a CA rotation). */
  bundle: string;
  /** The X509-SVID file: the leaf, optionally followed by its intermediates. */
  cert: string;
  /** Extra intermediates, if they are not in `cert`. */
  intermediates?: string;
  /** Require the SVID to belong to this trust domain. */
  trustDomain?: string;
  /** Validate as of this time. Default now. */
  at?: Date;
}

/**
 * An accepted SVID.
 *
 * @example
 * ```ts
 * const result = await verifySvidFiles({ bundle: 'ca.crt', cert: 'tls.crt' });
 * if (result.valid) {
 *   const accepted: SvidVerifyAccepted = result;
 *   console.log(accepted.spiffeId, accepted.notAfter.toISOString());
 * }
 * ```
 */
export interface SvidVerifyAccepted {
  valid: true;
  spiffeId: string;
  trustDomain: string;
  notBefore: Date;
  notAfter: Date;
  at: Date;
}

/**
 * A rejected SVID, with the X509-SVID rule it broke.
 *
 * @example
 * ```ts
 * const result = await verifySvidFiles({ bundle: 'ca.crt', cert: 'tls.crt' });
 * if (!result.valid) {
 *   const rejected: SvidVerifyRejected = result;
 *   console.error(`${rejected.error.code}: ${rejected.error.message}`);
 * }
 * ```
 */
export interface SvidVerifyRejected {
  valid: false;
  at: Date;
  error: { code: string; message: string; rule?: string };
}

/**
 * The verdict of `sigil svid verify`.
 *
 * @example
 * ```ts
 * const result: SvidVerifyResult = await verifySvidFiles({ bundle: 'ca.crt', cert: 'tls.crt' });
 * console.log(result.valid ? `valid: ${result.spiffeId}` : `rejected: ${result.error.message}`);
 * ```
 */
export type SvidVerifyResult = SvidVerifyAccepted | SvidVerifyRejected;

/**
 * Validates an X509-SVID file against a trust bundle file per the X509-SVID specification (path
 * validation at `at`, leaf and signing-certificate rules, exactly one SPIFFE URI SAN). A rejected
 * SVID is a result (`valid: false` with the failed rule), not an exception; unreadable or
 * malformed files throw `ERR_FILE_UNREADABLE` / `ERR_PEM_MALFORMED` (and a bundle holding a
 * non-CA certificate `ERR_BUNDLE_INVALID`) naming the file.
 *
 * @example
 * ```ts
 * const result = await verifySvidFiles({ bundle: 'ca.crt', cert: 'tls.crt', trustDomain: 'example.org' });
 * if (result.valid) console.log(result.spiffeId);
 * else console.error(result.error.rule);
 * ```
 */
export async function verifySvidFiles(options: SvidVerifyOptions): Promise<SvidVerifyResult> {
  const at = options.at ?? new Date();
  const chain = readCertificateChainFile(options.cert);
  const bundle = readTrustBundleFile(options.bundle);
  const intermediates =
    options.intermediates === undefined
      ? undefined
      : readCertificateChainFile(options.intermediates);
  try {
    const result = validateX509Svid(chain, bundle, {
      at,
      ...(options.trustDomain === undefined ? {} : { trustDomain: options.trustDomain }),
      ...(intermediates === undefined ? {} : { intermediates }),
    });
    return {
      valid: true,
      spiffeId: result.spiffeId,
      trustDomain: result.trustDomain,
      notBefore: result.notBefore,
      notAfter: result.notAfter,
      at,
    };
  } catch (err) {
    if (!isSigilError(err, 'ERR_SVID_INVALID')) throw err;
    const rule = typeof err.details.rule === 'string' ? err.details.rule : undefined;
    return {
      valid: false,
      at,
      error: {
        code: err.code,
        message: `${options.cert}: ${err.message}`,
        ...(rule === undefined ? {} : { rule }),
      },
    };
  }
}

/** Registers `sigil svid verify`. @internal */
export function registerSvidVerify(svid: Command, context: CommandContext): void {
  withJsonOption(
    svid
      .command('verify')
      .description(
        'Validate an X509-SVID against a trust bundle. Exit 0 and print the SPIFFE ID when valid; exit 1 and print the failed rule when not.',
      )
      .requiredOption('--bundle <file>', 'trust bundle: root certificate(s), PEM')
      .requiredOption(
        '--cert <file>',
        'the SVID: leaf certificate, optionally followed by intermediates, PEM',
      )
      .option('--intermediates <file>', 'intermediate certificates, PEM, if not in --cert')
      .option(
        '--trust-domain <td>',
        'require this trust domain',
        flagParser('--trust-domain', parseTrustDomainFlag),
      )
      .option(
        '--at <time>',
        'validate at this ISO-8601 time instead of now (UTC when no zone is given)',
        flagParser('--at', parseIsoTime),
      ),
  ).action(
    async (flags: {
      bundle: string;
      cert: string;
      intermediates?: string;
      trustDomain?: string;
      at?: Date;
      json?: boolean;
    }) => {
      const at = flags.at ?? context.now;
      const result = await verifySvidFiles({
        bundle: flags.bundle,
        cert: flags.cert,
        ...(flags.intermediates === undefined ? {} : { intermediates: flags.intermediates }),
        ...(flags.trustDomain === undefined ? {} : { trustDomain: flags.trustDomain }),
        ...(at === undefined ? {} : { at }),
      });
      if (result.valid) {
        emit(context, flags.json, { json: result, human: result.spiffeId });
      } else {
        const { message, rule } = result.error;
        const note =
          rule === undefined || message.includes(rule) ? message : `${message} [${rule}]`;
        emit(context, flags.json, {
          exitCode: ExitCode.Attention,
          json: result,
          human: '',
          humanNote: note,
        });
      }
    },
  );
}
