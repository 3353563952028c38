// sigil-controller: parse the configuration at the edge, run the controller until SIGTERM/SIGINT;
// `sigil-controller admin-token rotate` replaces the admin token and exits;
// `sigil-controller bootstrap-ca rotate` replaces the bootstrap CA in DATA_DIR and exits;
// `sigil-controller admin-user add|rm|passwd NAME` manages console users and exits.
import { createLogger, installShutdownHandlers, runMain } from '@sigil/runtime';
import { runAdminTokenCommand } from './admin-token-command';
import { parseAdminUserArgs, readPipedPassword, runAdminUserCommand } from './admin-user-command';
import { runBootstrapCaCommand } from './bootstrap-ca-command';
import { parseControllerConfig } from './config';
import { createController } from './controller';

runMain(async () => {
  const argv = process.argv.slice(2);
  const command =
    argv[0] === 'admin-token' || argv[0] === 'bootstrap-ca'
      ? { noun: argv[0], verb: argv[1] }
      : undefined;
  const userCommand = argv[0] === 'admin-user' ? parseAdminUserArgs(argv.slice(1)) : undefined;
  const parsed = parseControllerConfig({
    env: process.env,
    argv: userCommand?.rest ?? (command === undefined ? argv : argv.slice(2)),
  });
  if (parsed.action !== 'run') {
    process.stdout.write(parsed.text);
    return;
  }
  const logger = createLogger({ name: 'sigil-controller', level: parsed.config.logLevel });
  for (const flag of parsed.config.secretFlags)
    logger.warn(
      {
        event: 'controller.secret_on_command_line',
        flag,
        risk: 'every local user can read it with ps; use the environment variable or its _FILE variant',
      },
      'controller.secret_on_command_line',
    );
  if (userCommand !== undefined) {
    const outcome = await runAdminUserCommand(userCommand, parsed.config, readPipedPassword);
    // A generated password is printed once, on stdout only (never logged): only its hash is stored.
    if (outcome.generatedPassword !== undefined)
      process.stdout.write(`${outcome.generatedPassword}\n`);
    process.stderr.write(`sigil-controller: ${outcome.message}.\n`);
    return;
  }
  if (command?.noun === 'bootstrap-ca') {
    const rotation = await runBootstrapCaCommand(command.verb, parsed.config);
    process.stdout.write(
      `sigil-controller: the bootstrap CA in ${parsed.config.dataDir} is new (sha256 ${rotation.fingerprint})` +
        (rotation.previousFingerprint === undefined
          ? ' (finished an interrupted rotation).\n'
          : `; the previous one (sha256 ${rotation.previousFingerprint}) is kept as bootstrap-ca.previous.crt.\n`) +
        'Restart the controller: it then serves the new CA at GET /api/admin/bootstrap-ca; give it to agents that enroll from now on (CONTROLLER_CA_PATH). Enrolled agents keep working.\n',
    );
    return;
  }
  if (command !== undefined) {
    const token = await runAdminTokenCommand(command.verb, parsed.config);
    // Printed once, on stdout only (never logged): only its hash is stored.
    process.stdout.write(`${token}\n`);
    process.stderr.write(
      'sigil-controller: the new admin API token is above; the previous one no longer works (a running controller drops it within 5 s).\n',
    );
    return;
  }
  const controller = createController({ ...parsed.config, logger });
  await controller.start();
  if (controller.adminTokenGenerated) {
    // Printed once, on the terminal only (never logged): only its hash is stored.
    process.stderr.write(
      `\nsigil-controller: generated the admin API token. It is shown only this once; store it now\n` +
        `(or set SIGIL_ADMIN_TOKEN to choose one, or rotate it with: sigil-controller admin-token rotate):\n\n    ${controller.adminToken}\n\n`,
    );
  }
  if (controller.adminPasswordGenerated) {
    // Printed once, on the terminal only (never logged): only its hash is stored.
    process.stderr.write(
      `\nsigil-controller: created the console user "admin" with a generated password. It is shown only this once; store it now\n` +
        `(or set SIGIL_ADMIN_PASSWORD before the first start, or change it with: sigil-controller admin-user passwd admin):\n\n    ${controller.adminPassword}\n\n`,
    );
  }
  installShutdownHandlers({ logger, shutdown: () => controller.stop() });
});
