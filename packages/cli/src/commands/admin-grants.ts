import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable } from '../internal/table';

/** One grant of `GET /api/admin/grants` (docs/admin-api.md). */
interface Grant {
  id: string;
  resource: string;
  tunneler_id?: string;
  label?: string;
  created_at: string;
}

type JsonFlag = { json?: boolean };

const who = (g: Grant): string =>
  g.tunneler_id === undefined ? `tunnelers labelled ${g.label}` : `tunneler ${g.tunneler_id}`;

/** Registers `sigil admin grants create|ls|rm`. @internal */
export function registerAdminGrants(admin: Command, context: CommandContext): void {
  const grants = admin
    .command('grants')
    .description('Grant tunnelers (by id or by enrollment label) access to resources.');

  withAdminOptions(
    grants
      .command('create')
      .description('Let one tunneler, or every tunneler enrolled with a label, reach a resource.')
      .argument('<resource>', 'the resource name')
      .option('--tunneler-id <id>', 'the tunneler granted')
      .option('--label <label>', 'or: every tunneler whose enrollment token carried this label'),
  ).action(
    async (
      resource: string,
      flags: AdminFlags & JsonFlag & { tunnelerId?: string; label?: string },
    ) => {
      // The controller checks that exactly one of the two is given: its 400 names the field.
      const created = await adminClientFor(context, flags).request<Grant>(
        'POST',
        '/api/admin/grants',
        {
          resource,
          ...(flags.tunnelerId === undefined ? {} : { tunneler_id: flags.tunnelerId }),
          ...(flags.label === undefined ? {} : { label: flags.label }),
        },
      );
      emit(context, flags.json, {
        json: created,
        human: `Granted ${who(created)} access to ${created.resource} (grant ${created.id})`,
      });
    },
  );

  withAdminOptions(grants.command('ls').description('List the grants.')).action(
    async (flags: AdminFlags & JsonFlag) => {
      const list = await adminClientFor(context, flags).request<Grant[]>(
        'GET',
        '/api/admin/grants',
      );
      emit(context, flags.json, {
        json: list,
        human:
          list.length === 0
            ? 'no grants'
            : formatTable(
                ['ID', 'RESOURCE', 'TUNNELER', 'LABEL', 'CREATED'],
                list.map((g) => [
                  g.id,
                  g.resource,
                  g.tunneler_id ?? '-',
                  g.label ?? '-',
                  g.created_at,
                ]),
              ),
      });
    },
  );

  withAdminOptions(
    grants
      .command('rm')
      .description('Delete a grant: the live tunneled connections it allowed close.')
      .argument('<id>', 'the grant ID `sigil admin grants ls` shows'),
  ).action(async (id: string, flags: AdminFlags & JsonFlag) => {
    const deleted = await adminClientFor(context, flags).request<Grant>(
      'DELETE',
      `/api/admin/grants/${encodeURIComponent(id)}`,
    );
    emit(context, flags.json, {
      json: deleted,
      human: `Deleted grant ${deleted.id}: ${who(deleted)} no longer reaches ${deleted.resource}`,
    });
  });
}
