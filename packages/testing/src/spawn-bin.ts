import { spawn, type ChildProcess } from 'node:child_process';
import type { LogRecord } from './memory-logger';

/**
 * How {@link spawnBin} runs a script.
 *
 * @example
 * ```ts
 * const options: SpawnBinOptions = { args: ['run'], env: { DATA_DIR: dir }, nodeArgs: ['-r', registerTs] };
 * ```
 */
export interface SpawnBinOptions {
  /** Arguments after the script. */
  readonly args?: readonly string[];
  /** The child's whole environment, plus PATH: nothing else of the test's environment leaks in. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Options for node itself, before the script (e.g. `-r` a TypeScript loader). */
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
  /** `pipe` to write to (or end) the child's stdin; `ignore` by default. */
  readonly stdin?: 'ignore' | 'pipe';
  /** Run the child as this user and group (the test must be root). */
  readonly uid?: number;
  readonly gid?: number;
  /**
   * A command node runs under, e.g. `['nsenter', '-t', pid, '-m']` to share another process's
   * mount namespace; it must exec node in place, so the child is node.
   */
  readonly prefix?: readonly string[];
}

/**
 * A node script running as a child process, from {@link spawnBin}, with its output collected.
 *
 * @example
 * ```ts
 * const bin: BinProcess = spawnBin(script);
 * await bin.next('service.started');
 * await bin.stop();
 * ```
 */
export interface BinProcess {
  readonly child: ChildProcess;
  /** Every complete stdout line so far, oldest first. */
  readonly stdout: string[];
  /** Every complete stderr line so far, oldest first. */
  readonly stderr: string[];
  /** The stdout lines that are JSON objects (a pino log), parsed. */
  readonly records: LogRecord[];
  /** Resolves when the process has exited and its output has been read to the end. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * The first record (already logged or to come) that has event `match` or passes it; rejects,
   * naming the script and showing its stderr, if the process exits first or after `timeoutMs`.
   */
  next(match: string | ((record: LogRecord) => boolean), timeoutMs?: number): Promise<LogRecord>;
  /** SIGTERM (SIGKILL after `graceMs`), then the exit; at once if it has already exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `node <script>` as a real child process, the way users run Sigil's bins, with exactly the
 * environment given (plus PATH), and collects its stdout and stderr by line; JSON lines are
 * parsed so a test can wait for a log event.
 *
 * @example
 * ```ts
 * const controller = spawnBin(join(root, 'services/controller/dist/main.js'), {
 *   env: { DATA_DIR: dataDir, TRUST_DOMAIN: 'example.org' },
 * });
 * const started = await controller.next('controller.started');
 * await controller.stop();
 * ```
 */
export function spawnBin(script: string, options: SpawnBinOptions = {}): BinProcess {
  const [command, ...prefixArgs] = [...(options.prefix ?? []), process.execPath];
  const child = spawn(
    command!,
    [...prefixArgs, ...(options.nodeArgs ?? []), script, ...(options.args ?? [])],
    {
      env: { PATH: process.env.PATH, ...options.env },
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const records: LogRecord[] = [];
  const waiters = new Set<(record: LogRecord) => void>();
  const collect = (
    stream: NodeJS.ReadableStream,
    into: string[],
    onLine: (line: string) => void = () => undefined,
  ): void => {
    let rest = '';
    const push = (line: string) => {
      into.push(line);
      onLine(line);
    };
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(push);
    });
    // A last line without a newline still counts.
    stream.on('end', () => rest !== '' && push(rest));
  };
  collect(child.stdout!, stdout, (line) => {
    if (!line.startsWith('{')) return;
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      return;
    }
    records.push(record);
    for (const waiter of [...waiters]) waiter(record);
  });
  collect(child.stderr!, stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': by then stdout and stderr are read to the end.
    child.once('close', (code, signal) => resolve({ code, signal })),
  );

  return {
    child,
    stdout,
    stderr,
    records,
    exited,
    next(match, timeoutMs = 20_000) {
      const test =
        typeof match === 'string' ? (record: LogRecord) => record.event === match : match;
      const seen = records.find(test);
      if (seen) return Promise.resolve(seen);
      const what = typeof match === 'string' ? `event ${match}` : 'a matching log record';
      return new Promise((resolve, reject) => {
        const fail = (why: string) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(
            new Error(
              `${script} ${why} before logging ${what}; stderr: ${stderr.join('\n')}; last stdout: ${stdout.slice(-5).join('\n')}`,
            ),
          );
        };
        const waiter = (record: LogRecord) => {
          if (!test(record)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve(record);
        };
        const timer = setTimeout(() => fail(`ran ${timeoutMs} ms`), timeoutMs);
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (waiters.has(waiter)) fail(`exited (code ${code}, signal ${signal})`);
        });
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
