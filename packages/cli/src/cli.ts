import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { SigilError } from '@sigil/errors';
import { registerAdmin } from './commands/admin';
import { registerCaInit } from './commands/ca-init';
import { registerCertsCheck } from './commands/certs-check';
import { registerCertsGenerate } from './commands/certs-generate';
import { registerCertsInspect } from './commands/certs-inspect';
import { registerCertsIssue } from './commands/certs-issue';
import { registerCsrSign } from './commands/csr-sign';
import { registerDoctor } from './commands/doctor';
import { registerSvidVerify } from './commands/svid-verify';
import { ExitCode, exitCodeOfError } from './exit-codes';
import { processIo } from './io';
import type { CliIo } from './io';
import type { CommandContext } from './internal/command';

/**
 * Options of {@link runCli}.
 *
 * @example
 * ```ts
 * const options: RunCliOptions = { now: new Date('2025-06-01T00:00:00Z') };
 * const code = await runCli(['certs', 'check', 'tls.crt'], io, options);
 * ```
 */
export interface RunCliOptions {
  /** Fixed time for every command (tests): issuance, expiry checks, SVID validation. Default the clock. */
  now?: Date;
  /** The environment `sigil admin` reads SIGIL_ADMIN_URL and SIGIL_ADMIN_TOKEN from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Commander codes that mean help or the version was shown, not that something went wrong. */
const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * Runs the `sigil` command line and resolves with its exit code (see {@link ExitCode}); it never
 * throws and never prints a stack trace. Errors are one line on standard error naming the flag,
 * file or identity at fault, or `{"error":{"code","message"}}` on standard output with `--json`.
 *
 * @example
 * ```ts
 * const code = await runCli(['certs', 'check', 'tls.crt', '--warn-days', '15', '--json']);
 * process.exitCode = code;
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  options: RunCliOptions = {},
): Promise<number> {
  const json = argv.includes('--json');
  let exitCode: number = ExitCode.Ok;
  const context: CommandContext = {
    io,
    env: options.env ?? process.env,
    ...(options.now ? { now: options.now } : {}),
    setExitCode: (code) => (exitCode = code),
  };
  try {
    await createProgram(context).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io, json);
  }
}

function createProgram(context: CommandContext): Command {
  const program = new Command('sigil')
    .description(
      "Sigil: a SPIFFE X.509 CA, certificates for gRPC mTLS, expiry checks, SVID verification, diagnostics (doctor), and the controller's admin API.",
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.out(text),
      writeErr: (text) => context.io.err(text),
      // Errors are printed once, by reportError, in the mode (human or JSON) asked for.
      outputError: () => undefined,
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 attention (certs check: expiring soon; svid verify: rejected; doctor: a warning), 2 failure (certs inspect: the chain does not verify; doctor: a failed check), 3 admin API or inspected host unreachable, 64 usage error, 70 internal error.\nSee docs/cli.md.',
    );
  // Subcommands created with .command() inherit exitOverride and the output configuration.
  const ca = program.command('ca').description('Manage a certificate authority.');
  registerCaInit(ca, context);
  const certs = program
    .command('certs')
    .description('Issue, generate, check and inspect certificates.');
  registerCertsIssue(certs, context);
  registerCertsGenerate(certs, context);
  registerCertsCheck(certs, context);
  registerCertsInspect(certs, context);
  const svid = program.command('svid').description('Work with X509-SVIDs.');
  registerSvidVerify(svid, context);
  const csr = program.command('csr').description('Sign certificate signing requests.');
  registerCsrSign(csr, context);
  registerAdmin(program, context);
  registerDoctor(program, context);
  return program;
}

function reportError(err: unknown, io: CliIo, json: boolean): number {
  let code: string;
  let message: string;
  let exitCode: number;
  if (err instanceof CommanderError) {
    if (HELP_CODES.has(err.code)) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    code = 'ERR_USAGE';
    message = err.message.replace(/^error: /, '');
    exitCode = ExitCode.Usage;
  } else if (err instanceof SigilError) {
    code = err.code;
    message = err.message;
    exitCode = exitCodeOfError(err);
  } else {
    code = 'ERR_INTERNAL';
    message = `internal error: ${err instanceof Error ? err.message : String(err)} (please report this)`;
    exitCode = exitCodeOfError(err);
  }
  message = message.replace(/\s*\n\s*/g, ' ').trim();
  if (json) io.out(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  else io.err(`error: ${message} (${code})\n`);
  return exitCode;
}

function packageVersion(): string {
  // dist/cli.js and src/cli.ts both sit one level below the package root.
  return (
    JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
}
