import { Option } from 'commander';
import type { Command } from 'commander';
import { withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { createAdminClient } from './admin-client';
import type { AdminClient } from './admin-client';
import { ADMIN_SETTINGS, resolveAdminConnection } from './admin-settings';
import type { AdminFlags } from './admin-settings';

/**
 * Adds the flags every `sigil admin` command takes: `--json` and the connection flags of
 * ADMIN_SETTINGS (`--admin-url`, `--admin-token-file`, `--admin-token`, `--timeout`).
 *
 * @example
 * ```ts
 * withAdminOptions(group.command('ls').description('List the connectors.')).action(async (flags) => {
 *   const connectors = await adminClientFor(context, flags).request('GET', '/api/admin/connectors');
 * });
 * ```
 */
export function withAdminOptions(command: Command): Command {
  const { adminUrl, adminToken, adminTokenFile, timeout } = ADMIN_SETTINGS;
  return withJsonOption(command)
    .addOption(
      new Option(
        `--${adminUrl.flag} <url>`,
        `the controller's admin API, http://HOST:PORT (env ${adminUrl.env}; default ${adminUrl.default})`,
      ),
    )
    .addOption(
      new Option(
        `--${adminTokenFile.flag} <file>`,
        `file holding the admin token (env ${adminTokenFile.env})`,
      ),
    )
    .addOption(
      new Option(
        `--${adminToken.flag} <token>`,
        `the admin token; visible in ps, prefer env ${adminToken.env} or ${adminTokenFile.env}`,
      ),
    )
    .addOption(
      new Option(
        `--${timeout.flag} <duration>`,
        `give up on a request after this long (env ${timeout.env}; default ${timeout.defaultText})`,
      ),
    );
}

/**
 * The admin client for one command run, from its flags and the context's environment. Warnings
 * (a token on the command line) go to standard error, so they never mix with `--json` output.
 *
 * @example
 * ```ts
 * const audit = await adminClientFor(context, flags).request<unknown[]>('GET', '/api/admin/audit?limit=10');
 * ```
 */
export function adminClientFor(context: CommandContext, flags: AdminFlags): AdminClient {
  const { client, warnings } = resolveAdminConnection(
    {
      adminUrl: flags.adminUrl,
      adminToken: flags.adminToken,
      adminTokenFile: flags.adminTokenFile,
      timeout: flags.timeout,
    },
    context.env,
  );
  for (const warning of warnings) context.io.err(`${warning}\n`);
  return createAdminClient(client);
}
