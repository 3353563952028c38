// A real process serving gRPC in dev mode (`ServerTlsConfig.development()`), its environment
// naming the shared dev CA directory; reports its port as a JSON line. Exits when stdin closes.
import { createServerCredentials, ServerTlsConfig } from '../../src';
import { startEchoServer } from '@sigil/testing';
import pino from 'pino';

async function main(): Promise<void> {
  const handle = await createServerCredentials(
    ServerTlsConfig.development({ watch: false, pollIntervalMs: 0, reloadOnSighup: false }),
    { logger: pino({ level: 'silent' }) },
  );
  const running = await startEchoServer({ credentials: handle.credentials });
  process.stdin.on('end', () => {
    handle.close();
    void running.close();
  });
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, port: running.port })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).message)}\n`);
  process.exit(1);
});
