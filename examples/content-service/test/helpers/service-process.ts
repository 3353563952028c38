// Runs a built sample service (bin/<name>.js -> dist/main.js) as a real child process and reads
// its structured log from stdout.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnBin } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';

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

/** A sample service running as a real process, with the address it bound. */
export interface ServiceProcess extends BinProcess {
  name: string;
  /** Bound gRPC port and metrics URL, from the `service.started` event. */
  port: number;
  metricsUrl: string;
}

/** Starts `examples/<name>` with exactly `env` (plus PATH) and waits for `service.started`. */
export async function startServiceProcess(
  name: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ServiceProcess> {
  const bin = spawnBin(join(REPO_ROOT, 'examples', name, 'bin', `${name}.js`), { env });
  const started = await bin.next('service.started', timeoutMs);
  return {
    ...bin,
    name,
    port: started['port'] as number,
    metricsUrl: started['metricsUrl'] as string,
  };
}

/** Stops a service process (SIGKILL after SIGTERM had its chance) and waits for it to exit. */
export async function stopServiceProcess(service: ServiceProcess | undefined): Promise<void> {
  if (service === undefined) return;
  service.child.kill('SIGCONT'); // a test may have stopped it with SIGSTOP
  await service.stop();
}
