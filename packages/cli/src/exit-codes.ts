/**
 * Exit codes of the `sigil` command. They are public interface: scripts branch on them.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success; `certs check`: every certificate is fine; `svid verify`: the SVID is valid |
 * | 1 | `certs check`: some certificate expires within `--warn-days`; `svid verify`: the SVID was rejected |
 * | 2 | failure: unreadable or malformed input, refused overwrite, identity outside the trust domain; `certs check`: some certificate is expired, not yet valid or unreadable |
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
  Usage: 64,
  Internal: 70,
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
