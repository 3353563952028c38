// The one catalogue of `sigil doctor` checks, and the report every doctor command prints. The
// checks themselves are pure functions over gathered facts (tls-checks, connect-checks,
// agent-checks); the gatherers (gather-*) do the I/O.
import { ExitCode } from '../exit-codes';

/**
 * Every check `sigil doctor` runs, by its stable id (the `check` field of `--json`), with what it
 * asks. docs/cli.md lists the same table.
 *
 * @example
 * ```ts
 * const question: string = DOCTOR_CHECKS['key-matches-certificate'];
 * ```
 */
export const DOCTOR_CHECKS = {
  'tls-settings': 'the TLS settings load from the environment the way @sigil/grpc-tls loads them',
  'tls-mode': 'the TLS material comes from files, not a throwaway dev CA or plaintext',
  'file-readable': 'each file the settings name exists and this user can read it',
  'file-mode':
    'the private key is readable by its owner only; certificates are not writable by others',
  'pem-well-formed': 'each file holds well-formed PEM of the right kind',
  'key-matches-certificate': 'the private key is the key of the certificate',
  'chain-to-bundle': 'the certificate chains to a root of the CA bundle',
  'x509-svid': 'the certificate follows the X509-SVID rules Sigil peers apply',
  'certificate-expiry': 'the certificate (and CA) are valid now and outside the warning window',
  'target-name': 'the name clients dial (--target) is among the certificate SANs',
  handshake: 'a TLS handshake with the server completes',
  'server-certificate': 'what the server presented: subject, SPIFFE ID, validity',
  'server-verified': "the server's chain verifies against our CA bundle",
  'server-name': "the server's certificate covers the name we dial",
  'client-certificate-accepted': 'the server accepted our client certificate',
  'tls-version': 'the negotiated TLS version is 1.2 or later (1.3 preferred)',
  'alpn-h2': 'the server negotiates ALPN h2, as gRPC requires',
  'clock-skew': "this host's clock agrees with the server's",
  'grpc-health': 'the server answers grpc.health.v1 Check with SERVING',
  'agent-identity': 'STATE_DIR holds a complete, consistent enrolled identity',
  'agent-renewal': 'the agent renewed its certificate on schedule',
  'controller-reachable': 'a controller address persisted at enrollment answers a TLS handshake',
  'controller-trust':
    "the controller's certificate verifies against the agent's bundle or the CA pinned at enrollment",
} as const;

/**
 * The id of a check in {@link DOCTOR_CHECKS}.
 *
 * @example
 * ```ts
 * const id: DoctorCheckId = 'alpn-h2';
 * ```
 */
export type DoctorCheckId = keyof typeof DOCTOR_CHECKS;

/**
 * How a check came out: `pass`, `warn` (works, but will not for long or not everywhere) or `fail`.
 *
 * @example
 * ```ts
 * const failing = report.checks.filter((c) => c.status === ('fail' satisfies DoctorStatus));
 * ```
 */
export type DoctorStatus = 'pass' | 'warn' | 'fail';

/**
 * One check's verdict: what was found, and for a warning or failure the fix in one line.
 *
 * @example
 * ```ts
 * for (const c of report.checks) if (c.status !== 'pass') console.log(`${c.check}: ${c.fix}`);
 * ```
 */
export interface DoctorCheckResult {
  /** Which check, see {@link DOCTOR_CHECKS}. */
  check: DoctorCheckId;
  /** pass, warn or fail. */
  status: DoctorStatus;
  /** What was checked when a check runs more than once: a file, an address. */
  subject?: string;
  /** What was found, one line. */
  message: string;
  /** What to do about it, one line (warnings and failures). */
  fix?: string;
}

/**
 * What a `sigil doctor` command prints with `--json`.
 *
 * @example
 * ```ts
 * const report: DoctorReport = JSON.parse(stdout);
 * if (report.summary.fail > 0) process.exitCode = 2;
 * ```
 */
export interface DoctorReport {
  /** The doctor command that ran. */
  command: 'tls' | 'connect' | 'agent';
  /** The time the checks judged at. */
  checkedAt: Date;
  /** 0 every check passed, 1 some warned, 2 some failed. */
  exitCode: number;
  /** How many checks passed, warned and failed. */
  summary: Record<DoctorStatus, number>;
  /** Every check, in the order they ran. */
  checks: DoctorCheckResult[];
}

/** A check that passed. */
export function pass(check: DoctorCheckId, message: string, subject?: string): DoctorCheckResult {
  return { check, status: 'pass', ...(subject === undefined ? {} : { subject }), message };
}

/** A check that warned, with its fix. */
export function warn(
  check: DoctorCheckId,
  message: string,
  fix: string,
  subject?: string,
): DoctorCheckResult {
  return { check, status: 'warn', ...(subject === undefined ? {} : { subject }), message, fix };
}

/** A check that failed, with its fix. */
export function fail(
  check: DoctorCheckId,
  message: string,
  fix: string,
  subject?: string,
): DoctorCheckResult {
  return { check, status: 'fail', ...(subject === undefined ? {} : { subject }), message, fix };
}

/** The report of `checks`: counts, and exit 2 on any failure, 1 on any warning, else 0. */
export function doctorReport(
  command: DoctorReport['command'],
  checks: DoctorCheckResult[],
  checkedAt: Date,
): DoctorReport {
  const count = (status: DoctorStatus) => checks.filter((c) => c.status === status).length;
  const summary = { pass: count('pass'), warn: count('warn'), fail: count('fail') };
  const exitCode =
    summary.fail > 0 ? ExitCode.Failure : summary.warn > 0 ? ExitCode.Attention : ExitCode.Ok;
  return { command, checkedAt, exitCode, summary, checks };
}

/** The human form: one line per check, and an indented `fix:` line under each warning or failure. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.check.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    const subject = c.subject === undefined ? '' : `${c.subject}: `;
    lines.push(`${c.status.padEnd(4)}  ${c.check.padEnd(width)}  ${subject}${c.message}`);
    if (c.fix !== undefined) lines.push(`${' '.repeat(6 + width + 2)}fix: ${c.fix}`);
  }
  const { pass: passed, warn: warned, fail: failed } = report.summary;
  const count = `${report.checks.length} ${report.checks.length === 1 ? 'check' : 'checks'}`;
  lines.push(`${count}: ${passed} pass, ${warned} warn, ${failed} fail`);
  return lines.join('\n');
}

/** A thrown error as facts keep it: its code and one-line message. */
export interface FactError {
  code: string;
  message: string;
}

/** `err` as a {@link FactError} (a SigilError's code, else `ERR_INTERNAL`). */
export function factError(err: unknown): FactError {
  const code = (err as { code?: unknown })?.code;
  return {
    code: typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_INTERNAL',
    message: (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' '),
  };
}
