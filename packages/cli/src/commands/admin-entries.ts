import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { parseDuration } from '../internal/parse';
import { formatTable } from '../internal/table';

/** A registration entry as `/api/admin/entries` answers it (docs/workload-api.md). */
interface Entry {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: string[];
  x509_ttl_seconds: number;
  jwt_ttl_seconds: number;
  created_at: string;
}

type JsonFlag = { json?: boolean };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Registers `sigil admin entries create|ls|rm`. @internal */
export function registerAdminEntries(admin: Command, context: CommandContext): void {
  const entries = admin
    .command('entries')
    .description(
      'Create, list and delete workload registration entries (the SPIFFE Workload API).',
    );

  withAdminOptions(
    entries
      .command('create')
      .description(
        'Create a registration entry: the connector --parent-id hands --spiffe-id to local processes that have every --selector.',
      )
      .requiredOption('--spiffe-id <id>', 'the identity handed out: spiffe://<trust-domain>/<path>')
      .requiredOption(
        '--parent-id <id>',
        'the connector that serves it: spiffe://<trust-domain>/connector/<id>',
      )
      .requiredOption(
        '--selector <selector>',
        'unix:uid:<n>, unix:gid:<n>, unix:user:<name>, unix:group:<name>, unix:path:<exe>, k8s:pod-uid:<uid>; repeat for several (all must match)',
        collect,
      )
      .option('--x509-ttl <duration>', 'X509-SVID lifetime (default 1h)', parseDuration)
      .option('--jwt-ttl <duration>', 'JWT-SVID lifetime (default 5m)', parseDuration),
  ).action(
    async (
      flags: AdminFlags &
        JsonFlag & {
          spiffeId: string;
          parentId: string;
          selector: string[];
          x509Ttl?: number;
          jwtTtl?: number;
        },
    ) => {
      // The controller validates every field: its 400 names the one at fault.
      const created = await adminClientFor(context, flags).request<Entry>(
        'POST',
        '/api/admin/entries',
        {
          spiffe_id: flags.spiffeId,
          parent_id: flags.parentId,
          selectors: flags.selector,
          ...(flags.x509Ttl === undefined ? {} : { x509_ttl_seconds: flags.x509Ttl }),
          ...(flags.jwtTtl === undefined ? {} : { jwt_ttl_seconds: flags.jwtTtl }),
        },
      );
      emit(context, flags.json, {
        json: created,
        human: [
          `Created registration entry ${created.id}`,
          `  SPIFFE ID  ${created.spiffe_id}`,
          `  parent     ${created.parent_id}`,
          `  selectors  ${created.selectors.join(' ')}`,
          `  lifetimes  X509-SVID ${created.x509_ttl_seconds}s, JWT-SVID ${created.jwt_ttl_seconds}s`,
        ].join('\n'),
      });
    },
  );

  withAdminOptions(entries.command('ls').description('List the registration entries.')).action(
    async (flags: AdminFlags & JsonFlag) => {
      const listed = await adminClientFor(context, flags).request<Entry[]>(
        'GET',
        '/api/admin/entries',
      );
      emit(context, flags.json, {
        json: listed,
        human:
          listed.length === 0
            ? 'no registration entries'
            : formatTable(
                ['ID', 'SPIFFE ID', 'PARENT', 'SELECTORS', 'X509 TTL', 'JWT TTL'],
                listed.map((e) => [
                  e.id,
                  e.spiffe_id,
                  e.parent_id,
                  e.selectors.join(' '),
                  `${e.x509_ttl_seconds}s`,
                  `${e.jwt_ttl_seconds}s`,
                ]),
              ),
      });
    },
  );

  withAdminOptions(
    entries
      .command('rm')
      .description('Delete a registration entry: its workloads are refused from then on.')
      .argument('<id>', 'the ID `sigil admin entries ls` shows'),
  ).action(async (id: string, flags: AdminFlags & JsonFlag) => {
    const deleted = await adminClientFor(context, flags).request<Entry>(
      'DELETE',
      `/api/admin/entries/${encodeURIComponent(id)}`,
    );
    emit(context, flags.json, {
      json: deleted,
      human: `Deleted registration entry ${deleted.id} (${deleted.spiffe_id}, parent ${deleted.parent_id})`,
    });
  });
}
