import type { Command } from 'commander';
import { formatCertExpiry, validateCertExpirationFile } from '@sigil/cert-expiry';
import type { CertExpiryStatus } from '@sigil/cert-expiry';
import { SigilError } from '@sigil/errors';
import { ExitCode } from '../exit-codes';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { flagParser, parseDays } from '../internal/parse';

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
  /** Days before expiry a certificate counts as a warning. Default 30. */
  warnDays?: number;
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
  warnDays: number;
  checkedAt: Date;
  /** 0 all fine, 1 some expire within the window, 2 some expired, not yet valid or unreadable. */
  exitCode: number;
  summary: Record<'ok' | 'warning' | 'expired' | 'notYetValid' | 'unreadable', number>;
  certificates: CertsCheckEntry[];
}

/**
 * Checks the expiry of certificate files. The exit code is 0 when every file is fine, 1 when
 * some certificate expires within `warnDays`, and 2 when some certificate is expired or not yet
 * valid or some file cannot be read or parsed; a file with a chain counts as its worst
 * certificate.
 *
 * @example
 * ```ts
 * const result = await checkCertificateFiles({ files: ['/etc/grpc-tls/tls.crt'], warnDays: 15 });
 * process.exitCode = result.exitCode;
 * ```
 */
export async function checkCertificateFiles(options: CertsCheckOptions): Promise<CertsCheckResult> {
  const warnDays = options.warnDays ?? 30;
  const now = options.now ?? new Date();
  const certificates: CertsCheckEntry[] = [];
  for (const file of options.files) {
    try {
      const report = validateCertExpirationFile(file, { warnDays, now });
      certificates.push({
        file,
        status: report.status,
        message: formatCertExpiry(report),
        daysLeft: report.daysLeft,
        secondsLeft: report.secondsLeft,
        notBefore: report.notBefore,
        notAfter: report.notAfter,
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
  return { warnDays, checkedAt: now, exitCode, summary, certificates };
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
    `${summary.warning} expiring within ${result.warnDays} days`,
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
        'Check when certificates expire. Exit 0: all fine; 1: some expire within --warn-days; 2: some expired, not yet valid or unreadable.',
      )
      .argument(
        '<files...>',
        'PEM certificate or chain files (a chain counts as its first-expiring certificate)',
      )
      .option(
        '--warn-days <days>',
        'warn when fewer than this many days are left',
        flagParser('--warn-days', parseDays),
        30,
      ),
  ).action(async (files: string[], flags: { warnDays: number; json?: boolean }) => {
    const result = await checkCertificateFiles({
      files,
      warnDays: flags.warnDays,
      ...(context.now ? { now: context.now } : {}),
    });
    emit(context, flags.json, {
      exitCode: result.exitCode,
      json: result,
      human: formatCertsCheck(result),
    });
  });
}
