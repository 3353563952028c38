// Runs a built sample service (bin/<name>.js -> dist/main.js) as a real child process and reads
// its structured log from stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../../../..');

/** The dist files a real-process test needs; a clear message when the build is missing. */
export function assertBuilt(): void {
  const required = [
    ...['identity-service', 'user-service', 'content-service'].map((name) =>
      join(REPO_ROOT, 'examples', name, 'dist/main.js'),
    ),
    ...['errors', 'pki', 'cert-expiry', 'grpc-tls', 'interceptors', 'runtime', 'grpc-service'].map(
      (name) => join(REPO_ROOT, 'packages', name, 'dist/index.js'),
    ),
    join(REPO_ROOT, 'proto/dist/index.js'),
  ];
  const missing = required.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `the phase-1 end-to-end test runs the built services, and these files are missing:\n  ${missing.join('\n  ')}\n` +
        `Build first: cd ${REPO_ROOT} && npx turbo run build --filter=@sigil/identity-service --filter=@sigil/user-service --filter=@sigil/content-service (or pnpm build)`,
    );
  }
}

export type LogEvent = Record<string, unknown> & { event?: string };

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Bound gRPC port and metrics URL, from the `service.started` event. */
  port: number;
  metricsUrl: string;
  events: LogEvent[];
  stderr: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event matching, waiting up to `timeoutMs`. */
  waitForEvent(match: (event: LogEvent) => boolean, timeoutMs?: number): Promise<LogEvent>;
}

/** Starts `examples/<name>` with exactly `env` (plus PATH) and waits for `service.started`. */
export async function startServiceProcess(
  name: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'examples', name, 'bin', `${name}.js`)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: LogEvent[] = [];
  const waiters = new Set<{
    match: (event: LogEvent) => boolean;
    resolve: (event: LogEvent) => void;
  }>();
  let buffered = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      let event: LogEvent;
      try {
        event = JSON.parse(line) as LogEvent;
      } catch {
        event = { event: 'non-json', line };
      }
      events.push(event);
      for (const waiter of [...waiters]) {
        if (waiter.match(event)) {
          waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );

  const waitForEvent = (
    match: (event: LogEvent) => boolean,
    waitMs = 15_000,
  ): Promise<LogEvent> => {
    const seen = events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveEvent, reject) => {
      const waiter = {
        match,
        resolve: (event: LogEvent) => {
          clearTimeout(timer);
          resolveEvent(event);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `${name}: no matching log event within ${waitMs} ms; stderr: ${stderr}; last events: ${JSON.stringify(events.slice(-5))}`,
          ),
        );
      }, waitMs);
      waiters.add(waiter);
      void exited.then(({ code, signal }) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(
          new Error(
            `${name} exited (code ${code}, signal ${signal}) before the expected log event; stderr: ${stderr}`,
          ),
        );
      });
    });
  };

  const started = await waitForEvent((event) => event.event === 'service.started', timeoutMs);
  return {
    name,
    child,
    pid: child.pid!,
    port: started.port as number,
    metricsUrl: started.metricsUrl as string,
    events,
    stderr: () => stderr,
    exited,
    waitForEvent,
  };
}

/** Stops a service process (SIGKILL after SIGTERM had its chance) and waits for it to exit. */
export async function stopServiceProcess(service: ServiceProcess | undefined): Promise<void> {
  if (service === undefined || service.child.exitCode !== null || service.child.signalCode !== null)
    return;
  service.child.kill('SIGCONT');
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 10_000);
  await service.exited;
  clearTimeout(timer);
}
