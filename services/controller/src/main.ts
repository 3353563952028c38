// sigil-controller: parse the configuration at the edge, run the controller until SIGTERM/SIGINT.
import { createLogger, installShutdownHandlers, runMain } from '@sigil/runtime';
import { parseControllerConfig } from './config';
import { createController } from './controller';

runMain(async () => {
  const parsed = parseControllerConfig({ env: process.env, argv: process.argv.slice(2) });
  if (parsed.action !== 'run') {
    process.stdout.write(parsed.text);
    return;
  }
  const logger = createLogger({ name: 'sigil-controller', level: parsed.config.logLevel });
  const controller = createController({ ...parsed.config, logger });
  await controller.start();
  if (controller.adminTokenGenerated) {
    // Printed once, on the terminal only (never logged): only its hash is stored.
    process.stderr.write(
      `\nsigil-controller: generated the admin API token. It is shown only this once; store it now\n` +
        `(or set SIGIL_ADMIN_TOKEN to choose one):\n\n    ${controller.adminToken}\n\n`,
    );
  }
  installShutdownHandlers({ logger, shutdown: () => controller.stop() });
});
