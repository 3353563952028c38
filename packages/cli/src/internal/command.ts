import type { Command } from 'commander';
import type { CliIo } from '../io';

/** What every command action gets from the program. */
export interface CommandContext {
  io: CliIo;
  /** Fixed time for every date the command computes (tests); default the clock. */
  now?: Date;
  /** The environment the command reads its settings from (`sigil admin`: SIGIL_ADMIN_URL, ...). */
  env: Readonly<Record<string, string | undefined>>;
  /** Records the exit code of the command that ran. */
  setExitCode(code: number): void;
}

/** What an action hands back for printing. */
export interface CommandOutput {
  /** Exit code; default 0. */
  exitCode?: number;
  /** The `--json` document (printed on standard output). */
  json: unknown;
  /** Human text for standard output. */
  human: string;
  /** Human text for standard error (notes that must not mix with piped output). */
  humanNote?: string;
}

/** Adds the `--json` flag every leaf command has. */
export function withJsonOption(command: Command): Command {
  return command.option('--json', 'print one JSON document on standard output, for scripts');
}

/** Prints an action's output in the mode asked for and records its exit code. */
export function emit(
  context: CommandContext,
  json: boolean | undefined,
  output: CommandOutput,
): void {
  if (json) {
    context.io.out(`${JSON.stringify(output.json, null, 2)}\n`);
  } else {
    if (output.human !== '')
      context.io.out(output.human.endsWith('\n') ? output.human : `${output.human}\n`);
    if (output.humanNote)
      context.io.err(output.humanNote.endsWith('\n') ? output.humanNote : `${output.humanNote}\n`);
  }
  context.setExitCode(output.exitCode ?? 0);
}

/** Where progress lines go: standard output for humans, standard error when JSON owns standard output. */
export function progressWriter(
  context: CommandContext,
  json: boolean | undefined,
): (line: string) => void {
  return (line) => (json ? context.io.err(`${line}\n`) : context.io.out(`${line}\n`));
}
