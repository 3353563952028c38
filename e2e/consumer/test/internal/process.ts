// Child processes of the consumer test: plain npm/node with an environment free of the
// workspace's pnpm/npm settings, so nothing of the monorepo leaks into the consumer project.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

/** process.env without npm_*, pnpm_* and the parent's NODE_OPTIONS/NODE_PATH. */
export function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$|JEST_|GRPC_|SIGIL_)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', ...extra };
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs a command to completion; rejects (with its output) unless it exits 0 or `allowFailure`. */
export function run(
  command: string,
  args: readonly string[],
  options: {
    cwd: string;
    env?: Readonly<Record<string, string>>;
    allowFailure?: boolean;
    timeoutMs?: number;
  },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: cleanEnv(options.env),
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !options.allowFailure) {
          reject(
            new Error(
              `${command} ${args.join(' ')} failed (${String(err.code ?? err.signal)}):\n${stdout}\n${stderr}`,
            ),
          );
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
  });
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface LongRunning {
  readonly output: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `node <script>` and resolves once its output contains `ready` (a string) or it accepts
 * TCP connections on 127.0.0.1:`ready` (a port).
 */
export async function startNode(
  script: string,
  options: {
    cwd: string;
    env: Readonly<Record<string, string>>;
    ready: string | number;
    timeoutMs?: number;
  },
): Promise<LongRunning> {
  const child: ChildProcess = spawn(process.execPath, [script], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} was not ready (${String(options.ready)}) in time:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (typeof options.ready === 'string' && output.includes(options.ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    if (typeof options.ready === 'number') {
      const port = options.ready;
      const poll = (): void => {
        if (child.exitCode !== null) return;
        void accepts(port).then((ok) => {
          if (!ok) {
            setTimeout(poll, 100);
            return;
          }
          clearTimeout(timer);
          resolve();
        });
      };
      poll();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${String(code)}) before it was ready:\n${output}`));
    });
  });
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
