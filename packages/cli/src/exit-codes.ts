import { ERROR_CATALOGUE, toExitCode } from '@sigil/errors';

/**
 * Exit codes of the `sigil` command. They are public interface: scripts branch on them.
 * `Ok`, `Attention` and `Failure` are outcomes of the commands (`certs check`, `svid verify`, `doctor`);
 * `Unreachable` is `sigil admin` getting no usable answer from the admin API, or `certs inspect`
 * no TLS handshake with the host;
 * an error exits with its exit code in the error catalogue of @sigil/errors (`Usage` and
 * `Internal` are those of `ERR_USAGE` and `ERR_INTERNAL`), except that the general failure `1`
 * exits `Failure`, since `1` is the `Attention` outcome here.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success; `certs check`: every certificate is fine; `svid verify`: the SVID is valid; `doctor`: every check passed |
 * | 1 | `certs check`: some certificate expires within `--warn-days`; `svid verify`: the SVID was rejected; `doctor`: some check warned |
 * | 2 | failure: unreadable or malformed input, refused overwrite, identity outside the trust domain; `certs check`: some certificate is expired, not yet valid or unreadable; `certs inspect`: the chain does not verify against `--ca`; `doctor`: some check failed; `sigil admin`: the controller refused the request (4xx: bad field, wrong admin token, no such agent or token) or the admin settings are wrong |
 * | 3 | `sigil admin`: no usable answer from the admin API (unreachable, timed out, a 5xx, not the admin API); `certs inspect HOST:PORT`: no TLS handshake (refused, timed out, not TLS, client certificate required) |
 * | 64 | usage error: unknown command or option, missing or invalid flag value |
 * | 70 | internal error (a bug: please report it) |
 *
 * @example
 * ```ts
 * import { ExitCode, runCli } from '@sigil/cli';
 *
 * if ((await runCli(['certs', 'check', 'tls.crt'])) === ExitCode.Attention) console.log('renew soon');
 * ```
 */
export const ExitCode = {
  Ok: 0,
  Attention: 1,
  Failure: 2,
  Unreachable: ERROR_CATALOGUE.ERR_CONTROLLER_UNREACHABLE.exitCode,
  Usage: ERROR_CATALOGUE.ERR_USAGE.exitCode,
  Internal: ERROR_CATALOGUE.ERR_INTERNAL.exitCode,
} as const;

/**
 * One of the values of {@link ExitCode}.
 *
 * @example
 * ```ts
 * const code = (await runCli(process.argv.slice(2))) as ExitCodeValue;
 * if (code === ExitCode.Usage) console.error('see sigil --help');
 * ```
 */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit code of `sigil` for an error: its catalogue exit code (`toExitCode`), with the general
 * failure `1` reported as {@link ExitCode}.Failure so that it never reads as `Attention`.
 */
export function exitCodeOfError(err: unknown): number {
  const code = toExitCode(err);
  return code === ExitCode.Attention ? ExitCode.Failure : code;
}
