// Server half of runtime-rotation-under-load.test.ts, in its own process: the echo service over
// credentials from a directory (watched, no periodic re-read, no SIGHUP), reporting each reload
// as a JSON line. Serves until stdin closes.
import pino from 'pino';
import { startEchoServer } from '@sigil/testing';
import { createServerCredentials, loadServerTlsConfig } from '../../src';

async function main(): Promise<void> {
  const handle = await createServerCredentials(
    loadServerTlsConfig({
      env: { GRPC_TLS_DIR: process.argv[2]! },
      configFile: false,
      debounceMs: 50,
      pollIntervalMs: 0,
      reloadOnSighup: false,
    }),
    { logger: pino({ level: 'silent' }) },
  );
  const running = await startEchoServer({ credentials: handle.credentials });
  const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  handle.onReload((result) =>
    report({
      reload: result.status,
      serialNumber: result.certificate?.serialNumber,
      error: result.error?.message,
    }),
  );
  process.stdin.on('end', () => {
    handle.close();
    running.server.forceShutdown();
  });
  process.stdin.resume();
  report({ ready: true, port: running.port });
}

void main();
