import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable, formatTimeFrom } from '../internal/table';

/** `GET` and `PUT /api/admin/agent-versions` answer this (docs/admin-api.md). */
interface AgentVersions {
  connector_min: string | null;
  tunneler_min: string | null;
  connector_min_set_at: string | null;
  tunneler_min_set_at: string | null;
  upgrade_grace_seconds: number | null;
  connector_deadline: string | null;
  tunneler_deadline: string | null;
  upgrade_required: { connectors: number; tunnelers: number };
}

type Flags = AdminFlags & { json?: boolean; connectorMin?: string; tunnelerMin?: string };

/** What clears a minimum on the command line. */
const NONE = 'none';

/** Registers `sigil admin agent-versions`. @internal */
export function registerAdminAgentVersions(admin: Command, context: CommandContext): void {
  withAdminOptions(
    admin
      .command('agent-versions')
      .description(
        'Show, or pin, the minimum agent version per kind (semver): agents below it are flagged upgrade_required and told to upgrade, and after AGENT_UPGRADE_GRACE their renewals are refused. A minimum not given stays as it is.',
      )
      .option(
        '--connector-min <version>',
        `minimum connector version, e.g. 1.4.0 (${NONE} clears it)`,
      )
      .option('--tunneler-min <version>', `minimum tunneler version (${NONE} clears it)`),
  ).action(async (flags: Flags) => {
    const client = adminClientFor(context, flags);
    const path = '/api/admin/agent-versions';
    let versions = await client.request<AgentVersions>('GET', path);
    if (flags.connectorMin !== undefined || flags.tunnelerMin !== undefined) {
      // PUT replaces both minimums: the one not given is sent as it stands.
      const wanted = (flag: string | undefined, current: string | null): string | null =>
        flag === undefined ? current : flag.trim() === NONE ? null : flag;
      versions = await client.request<AgentVersions>('PUT', path, {
        connector_min: wanted(flags.connectorMin, versions.connector_min),
        tunneler_min: wanted(flags.tunnelerMin, versions.tunneler_min),
      });
    }
    emit(context, flags.json, {
      json: versions,
      human: formatVersions(versions, context.now ?? new Date()),
    });
  });
}

function formatVersions(v: AgentVersions, now: Date): string {
  const row = (
    kind: string,
    minimum: string | null,
    setAt: string | null,
    deadline: string | null,
    below: number,
  ): string[] => [
    kind,
    minimum ?? '-',
    minimum === null ? '-' : formatTimeFrom(setAt, now),
    minimum === null ? '-' : deadline === null ? 'never' : formatTimeFrom(deadline, now),
    String(below),
  ];
  const table = formatTable(
    ['KIND', 'MINIMUM', 'SET AT', 'RENEWALS REFUSED FROM', 'BELOW MINIMUM'],
    [
      row(
        'connector',
        v.connector_min,
        v.connector_min_set_at,
        v.connector_deadline,
        v.upgrade_required.connectors,
      ),
      row(
        'tunneler',
        v.tunneler_min,
        v.tunneler_min_set_at,
        v.tunneler_deadline,
        v.upgrade_required.tunnelers,
      ),
    ],
  );
  const grace =
    v.upgrade_grace_seconds === null
      ? 'AGENT_UPGRADE_GRACE is unset: agents below a minimum are flagged and told, never refused.'
      : `AGENT_UPGRADE_GRACE ${v.upgrade_grace_seconds}s: renewals of agents below a minimum are refused from that long after it was set.`;
  return `${table}\n${grace}`;
}
