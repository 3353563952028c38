import { Option } from 'commander';
import type { Command } from 'commander';
import { formatCertExpiry, validateCertExpirationFile } from '@sigil/cert-expiry';
import type { CertExpiryStatus } from '@sigil/cert-expiry';
import { SigilError } from '@sigil/errors';
import { ExitCode } from '../exit-codes';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { flagParser, parseDays, parseDurationIn } from '../internal/parse';

/**
 * Options of {@link checkCertificateFiles} (`sigil certs check`).
 *
 * @example
 * ```ts
 * const options: CertsCheckOptions = { files: ['secrets/api/tls.crt', 'secrets/worker/tls.crt'], warnDays: 7 };
 * const result = await checkCertificateFiles(options);
 * ```
 */
export interface CertsCheckOptions {
  /** Certificate or chain files (PEM). */
  files: readonly string[];
  /**
   * The fixed warning window in days. A certificate is a warning once less than a third of its
   * lifetime is left or it is inside this window, whichever comes later. Default 30.
   */
  warnDays?: number;
  /** The fixed warning window in seconds (`--warn-within 8h`); replaces `warnDays`. */
  warnWithinSeconds?: number;
  /** Time to check at (tests). Default now. */
  now?: Date;
}

/**
 * How one file fared: an expiry status, or `unreadable`.
 *
 * @example
 * ```ts
 * const failing: CertsCheckStatus[] = ['expired', 'not-yet-valid', 'unreadable'];
 * const broken = result.certificates.filter((entry) => failing.includes(entry.status));
 * ```
 */
export type CertsCheckStatus = CertExpiryStatus | 'unreadable';

/**
 * One checked file. Expiry fields describe the certificate of the chain that expires first.
 *
 * @example
 * ```ts
 * for (const entry of result.certificates) {
 *   console.log(`${entry.file}: ${entry.status}: ${entry.message}`);
 * }
 * ```
 */
export interface CertsCheckEntry {
  file: string;
  status: CertsCheckStatus;
  /** One human line: the certificate and when it expires, or why the file is unreadable. */
  message: string;
  daysLeft?: number;
  secondsLeft?: number;
  notBefore?: Date;
  notAfter?: Date;
  subject?: string;
  spiffeId?: string;
  /** When the deciding certificate enters its warning period. */
  warnFrom?: Date;
  /** True when `warnFrom` comes from a third of the lifetime rather than the fixed window. */
  warnByLifetime?: boolean;
  /** Position in the file's chain of the deciding certificate (0 = leaf). */
  index?: number;
  /** Set when the file is unreadable. */
  error?: { code: string; message: string };
}

/**
 * What `sigil certs check` found.
 *
 * @example
 * ```ts
 * const result: CertsCheckResult = await checkCertificateFiles({ files: ['tls.crt'] });
 * console.log(`${result.summary.ok} ok, ${result.summary.warning} expiring, ${result.summary.expired} expired`);
 * process.exitCode = result.exitCode;
 * ```
 */
export interface CertsCheckResult {
  /** The fixed warning window in days (fractional with `warnWithinSeconds`). */
  warnDays: number;
  /** The fixed warning window in seconds. */
  warnWithinSeconds: number;
  checkedAt: Date;
  /** 0 all fine, 1 some expire within the window, 2 some expired, not yet valid or unreadable. */
  exitCode: number;
  summary: Record<'ok' | 'warning' | 'expired' | 'notYetValid' | 'unreadable', number>;
  certificates: CertsCheckEntry[];
}

/**
 * Checks the expiry of certificate files. The exit code is 0 when every file is fine, 1 when
 * some certificate is in its warning period (less than a third of its lifetime left or inside
 * the fixed window of `warnDays` or `warnWithinSeconds`, whichever comes later: a fresh 24 h
 * certificate is fine, it warns 8 h before expiry), and 2 when some certificate is expired or not
 * yet valid or some file cannot be read or parsed; a file with a chain counts as its worst
 * certificate.
 *
 * @example
 * ```ts
 * const result = await checkCertificateFiles({ files: ['/etc/grpc-tls/tls.crt'], warnDays: 15 });
 * process.exitCode = result.exitCode;
 * ```
 */
export async function checkCertificateFiles(options: CertsCheckOptions): Promise<CertsCheckResult> {
  const window =
    options.warnWithinSeconds === undefined
      ? { warnDays: options.warnDays ?? 30 }
      : { warnWithinMs: options.warnWithinSeconds * 1000 };
  const now = options.now ?? new Date();
  let warnWithinMs = (window.warnDays ?? 0) * 86_400_000 + (window.warnWithinMs ?? 0);
  const certificates: CertsCheckEntry[] = [];
  for (const file of options.files) {
    try {
      const report = validateCertExpirationFile(file, { ...window, now });
      warnWithinMs = report.warnWithinMs;
      certificates.push({
        file,
        status: report.status,
        message: formatCertExpiry(report),
        daysLeft: report.daysLeft,
        secondsLeft: report.secondsLeft,
        notBefore: report.notBefore,
        notAfter: report.notAfter,
        warnFrom: report.warnFrom,
        warnByLifetime: report.warnByLifetime,
        subject: report.subject,
        ...(report.spiffeId === undefined ? {} : { spiffeId: report.spiffeId }),
        index: report.index,
      });
    } catch (err) {
      if (!(err instanceof SigilError)) throw err;
      const message = err.message.startsWith(`${file}: `)
        ? err.message.slice(file.length + 2)
        : err.message;
      certificates.push({
        file,
        status: 'unreadable',
        message,
        error: { code: err.code, message: err.message },
      });
    }
  }
  const count = (status: CertsCheckStatus) =>
    certificates.filter((c) => c.status === status).length;
  const summary = {
    ok: count('ok'),
    warning: count('warning'),
    expired: count('expired'),
    notYetValid: count('not-yet-valid'),
    unreadable: count('unreadable'),
  };
  const exitCode =
    summary.expired + summary.notYetValid + summary.unreadable > 0
      ? ExitCode.Failure
      : summary.warning > 0
        ? ExitCode.Attention
        : ExitCode.Ok;
  return {
    warnDays: warnWithinMs / 86_400_000,
    warnWithinSeconds: warnWithinMs / 1000,
    checkedAt: now,
    exitCode,
    summary,
    certificates,
  };
}

function formatCertsCheck(result: CertsCheckResult): string {
  const statusWidth = Math.max(...result.certificates.map((c) => c.status.length));
  const fileWidth = Math.max(...result.certificates.map((c) => c.file.length));
  const lines = result.certificates.map(
    (c) => `${c.status.padEnd(statusWidth)}  ${c.file.padEnd(fileWidth)}  ${c.message}`,
  );
  const { summary } = result;
  const parts = [
    `${summary.ok} ok`,
    `${summary.warning} expiring soon`,
    `${summary.expired} expired`,
    ...(summary.notYetValid > 0 ? [`${summary.notYetValid} not yet valid`] : []),
    ...(summary.unreadable > 0 ? [`${summary.unreadable} unreadable`] : []),
  ];
  lines.push(
    `${result.certificates.length} ${result.certificates.length === 1 ? 'file' : 'files'}: ${parts.join(', ')}`,
  );
  return lines.join('\n');
}

/** Registers `sigil certs check`. @internal */
export function registerCertsCheck(certs: Command, context: CommandContext): void {
  withJsonOption(
    certs
      .command('check')
      .description(
        'Check when certificates expire. A certificate warns once less than a third of its lifetime is left or it is inside the window (--warn-days or --warn-within), whichever is later. Exit 0: all fine; 1: some warn; 2: some expired, not yet valid or unreadable.',
      )
      .argument(
        '<files...>',
        'PEM certificate or chain files (a chain counts as its first-expiring certificate)',
      )
      .option(
        '--warn-days <days>',
        'the warning window in days (a short-lived certificate warns in its last third instead)',
        flagParser('--warn-days', parseDays),
        30,
      )
      .addOption(
        new Option(
          '--warn-within <duration>',
          'the warning window as a duration: 8h, 90m, 7d (replaces --warn-days)',
        )
          .argParser(flagParser('--warn-within', parseDurationIn()))
          .conflicts('warnDays'),
      ),
  ).action(async (files: string[], flags: CertsCheckFlags) => {
    const result = await checkCertificateFiles({
      files,
      ...(flags.warnWithin === undefined
        ? { warnDays: flags.warnDays }
        : { warnWithinSeconds: flags.warnWithin }),
      ...(context.now ? { now: context.now } : {}),
    });
    emit(context, flags.json, {
      exitCode: result.exitCode,
      json: result,
      human: formatCertsCheck(result),
    });
  });
}

interface CertsCheckFlags {
  warnDays: number;
  warnWithin?: number;
  json?: boolean;
}
