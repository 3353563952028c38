/**
 * Where the CLI writes: `out` is standard output (results, help), `err` standard error (human
 * error messages, and progress while `--json` owns standard output).
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const io: CliIo = { out: (text) => lines.push(text), err: (text) => lines.push(text) };
 * ```
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * The process's standard streams as a {@link CliIo}.
 *
 * @example
 * ```ts
 * await runCli(process.argv.slice(2), processIo());
 * ```
 */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
}
