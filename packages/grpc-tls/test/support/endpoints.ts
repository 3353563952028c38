// A server and a client built from configurations, closed by `closeAll` after each test.
import { createMemoryLogger, startEchoServer } from '@sigil/testing';
import type { MemoryLogger, RunningEchoServer } from '@sigil/testing';
import type {
  ClientCredentialsHandle,
  ClientTlsConfig,
  ServerCredentialsHandle,
  ServerTlsConfig,
} from '../../src';
import { createClientCredentials, createServerCredentials } from '../../src';

/** Reload settings that start no watcher, timer or SIGHUP listener. */
export const QUIET = { watch: false, pollIntervalMs: 0, reloadOnSighup: false } as const;

const cleanups: (() => unknown)[] = [];

/** Closes everything {@link serveConfig} and {@link dialConfig} opened, newest first. */
export async function closeAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export async function serveConfig(
  config: ServerTlsConfig,
): Promise<{ handle: ServerCredentialsHandle; running: RunningEchoServer; logs: MemoryLogger }> {
  const logs = createMemoryLogger();
  const handle = await createServerCredentials(config, { logger: logs.logger });
  cleanups.push(() => handle.close());
  const running = await startEchoServer({ credentials: handle.credentials });
  cleanups.push(() => running.close());
  return { handle, running, logs };
}

export async function dialConfig(config: ClientTlsConfig): Promise<ClientCredentialsHandle> {
  const handle = await createClientCredentials(config, { logger: createMemoryLogger().logger });
  cleanups.push(() => handle.close());
  return handle;
}
