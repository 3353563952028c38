import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable, formatTimeFrom } from '../internal/table';

/** A connector or tunneler of `GET /api/admin/connectors|tunnelers` (docs/admin-api.md). */
interface AgentView {
  id: string;
  status: string;
  last_seen: string | null;
  version: string;
  private_ip?: string;
  connected?: boolean;
  connector_id?: string;
  /** Below the minimum version pinned for its kind (`sigil admin agent-versions`). */
  upgrade_required?: boolean;
}

type JsonFlag = { json?: boolean };

/** The columns of each kind's table. */
const COLUMNS: Record<
  'connector' | 'tunneler',
  [string, (agent: AgentView, now: Date) => string][]
> = {
  connector: [
    ['ID', (a) => a.id],
    ['STATUS', (a) => a.status],
    ['CONNECTED', (a) => (a.connected ? 'yes' : 'no')],
    ['LAST SEEN', (a, now) => formatTimeFrom(a.last_seen, now)],
    ['VERSION', versionCell],
    ['PRIVATE IP', (a) => a.private_ip || '-'],
  ],
  tunneler: [
    ['ID', (a) => a.id],
    ['CONNECTOR', (a) => a.connector_id ?? '-'],
    ['STATUS', (a) => a.status],
    ['LAST SEEN', (a, now) => formatTimeFrom(a.last_seen, now)],
    ['VERSION', versionCell],
  ],
};

/** The reported version, marked when it is below its kind's pinned minimum. */
function versionCell(agent: AgentView): string {
  return `${agent.version || '-'}${agent.upgrade_required ? ' (upgrade required)' : ''}`;
}

/** Registers `sigil admin connectors ls|revoke` and `sigil admin tunnelers ls|revoke`. @internal */
export function registerAdminAgents(admin: Command, context: CommandContext): void {
  for (const kind of ['connector', 'tunneler'] as const) registerKind(admin, context, kind);
}

function registerKind(
  admin: Command,
  context: CommandContext,
  kind: 'connector' | 'tunneler',
): void {
  const plural = `${kind}s`;
  const group = admin.command(plural).description(`List and revoke ${plural}.`);

  withAdminOptions(
    group
      .command('ls')
      .description(`List the enrolled ${plural} with their status (ONLINE, OFFLINE, REVOKED).`),
  ).action(async (flags: AdminFlags & JsonFlag) => {
    const agents = await adminClientFor(context, flags).request<AgentView[]>(
      'GET',
      `/api/admin/${plural}`,
    );
    const now = context.now ?? new Date();
    const columns = COLUMNS[kind];
    emit(context, flags.json, {
      json: agents,
      human:
        agents.length === 0
          ? `no ${plural} enrolled`
          : formatTable(
              columns.map(([title]) => title),
              agents.map((agent) => columns.map(([, cell]) => cell(agent, now))),
            ),
    });
  });

  withAdminOptions(
    group
      .command('revoke')
      .description(
        `Revoke a ${kind}: the controller refuses its renewals and streams and ends its open streams${kind === 'tunneler' ? ', and its connector drops it' : ''}. Re-enrolling with a new token is the way back.`,
      )
      .argument('<id>', `the ${kind} id`)
      .requiredOption('--reason <text>', 'why, for the audit log and GET /api/admin/revocations'),
  ).action(async (id: string, flags: AdminFlags & JsonFlag & { reason: string }) => {
    const revocation = await adminClientFor(context, flags).request<{
      spiffe_id: string;
      reason: string;
      revoked_at: string;
    }>('POST', `/api/admin/${plural}/${encodeURIComponent(id)}/revoke`, { reason: flags.reason });
    // Revoking again answers the first revocation: its time and reason are the ones shown.
    emit(context, flags.json, {
      json: revocation,
      human: `Revoked ${kind} ${id} (${revocation.spiffe_id}) at ${revocation.revoked_at}: ${revocation.reason}`,
    });
  });
}
