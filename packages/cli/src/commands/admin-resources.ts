import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable } from '../internal/table';

/** One resource of `GET /api/admin/resources` (docs/admin-api.md). */
interface Resource {
  name: string;
  address: string;
  connector_id: string;
  created_at: string;
}

type JsonFlag = { json?: boolean };

/** Registers `sigil admin resources create|ls|rm`. @internal */
export function registerAdminResources(admin: Command, context: CommandContext): void {
  const resources = admin
    .command('resources')
    .description(
      'Create, list and delete data-plane resources (what tunnelers reach through a connector).',
    );

  withAdminOptions(
    resources
      .command('create')
      .description(
        'Create a resource a connector dials for its tunnelers (deny by default: add grants).',
      )
      .argument('<name>', 'the resource name tunnelers forward to, e.g. pg-main')
      .requiredOption(
        '--address <address>',
        'host:port, CIDR:port or CIDR:first-last, e.g. 10.0.0.5:5432 or 10.0.0.0/24:8000-8099',
      )
      .requiredOption('--connector-id <id>', 'the connector that reaches it'),
  ).action(
    async (
      name: string,
      flags: AdminFlags & JsonFlag & { address: string; connectorId: string },
    ) => {
      const created = await adminClientFor(context, flags).request<Resource>(
        'POST',
        '/api/admin/resources',
        { name, address: flags.address, connector_id: flags.connectorId },
      );
      emit(context, flags.json, {
        json: created,
        human: `Created resource ${created.name} at ${created.address} (connector ${created.connector_id}); grant tunnelers with \`sigil admin grants create ${created.name}\``,
      });
    },
  );

  withAdminOptions(resources.command('ls').description('List the resources.')).action(
    async (flags: AdminFlags & JsonFlag) => {
      const list = await adminClientFor(context, flags).request<Resource[]>(
        'GET',
        '/api/admin/resources',
      );
      emit(context, flags.json, {
        json: list,
        human:
          list.length === 0
            ? 'no resources'
            : formatTable(
                ['NAME', 'ADDRESS', 'CONNECTOR', 'CREATED'],
                list.map((r) => [r.name, r.address, r.connector_id, r.created_at]),
              ),
      });
    },
  );

  withAdminOptions(
    resources
      .command('rm')
      .description('Delete a resource and its grants: its live tunneled connections close.')
      .argument('<name>', 'the resource name'),
  ).action(async (name: string, flags: AdminFlags & JsonFlag) => {
    const deleted = await adminClientFor(context, flags).request<Resource>(
      'DELETE',
      `/api/admin/resources/${encodeURIComponent(name)}`,
    );
    emit(context, flags.json, {
      json: deleted,
      human: `Deleted resource ${deleted.name} and its grants`,
    });
  });
}
