// A real process serving gRPC with credentials from a Secret mount, reporting reloads as JSON
// lines on stdout, so a test can send it a real SIGHUP. Exits when stdin closes.
import { createServerCredentials, loadServerTlsConfig } from '../../src';
import { startEchoServer } from '@sigil/testing';
import pino from 'pino';

async function main(): Promise<void> {
  const handle = await createServerCredentials(
    loadServerTlsConfig({ dir: process.argv[2]!, watch: false, pollIntervalMs: 0 }),
    { logger: pino({ level: 'silent' }) },
  );
  const running = await startEchoServer({ credentials: handle.credentials });
  const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  handle.onReload((result) =>
    report({
      status: result.status,
      trigger: result.trigger,
      serialNumber: result.certificate?.serialNumber,
    }),
  );
  process.stdin.on('end', () => {
    handle.close();
    void running.close();
  });
  process.stdin.resume();
  report({ ready: true, port: running.port, serialNumber: handle.certificate?.serialNumber });
}

void main();
