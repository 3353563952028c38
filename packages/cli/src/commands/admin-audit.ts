import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable } from '../internal/table';

/** One record of `GET /api/admin/audit` (docs/admin-api.md). */
interface AuditRecord {
  id: number;
  at: string;
  action: string;
  outcome: string;
  actor: string;
  subject: string;
  details?: Record<string, unknown>;
}

/** A revocation of `GET /api/admin/revocations` (docs/admin-api.md). */
interface Revocation {
  id: number;
  kind: string;
  agent_id: string;
  spiffe_id: string;
  reason: string;
  revoked_at: string;
  actor: string;
  /** False once the agent was enrolled again, which lifts the revocation. */
  active: boolean;
  lifted_at: string | null;
}

type JsonFlag = { json?: boolean };

/** Registers `sigil admin audit` and `sigil admin revocations ls`. @internal */
export function registerAdminAudit(admin: Command, context: CommandContext): void {
  withAdminOptions(
    admin
      .command('audit')
      .description('Show audit records, newest first.')
      .option('--limit <n>', 'at most this many records, 1 to 1000 (default 100)', positiveInteger)
      .option(
        '--action <action>',
        'only this action, e.g. enrollment.refused or admin.agent_revoked',
      )
      .option(
        '--before <id>',
        'only records with an id below this (paging: the last id shown)',
        positiveInteger,
      ),
  ).action(
    async (flags: AdminFlags & JsonFlag & { limit?: number; action?: string; before?: number }) => {
      const query = new URLSearchParams();
      if (flags.limit !== undefined) query.set('limit', String(flags.limit));
      if (flags.before !== undefined) query.set('before', String(flags.before));
      if (flags.action !== undefined) query.set('action', flags.action);
      const search = query.size === 0 ? '' : `?${query.toString()}`;
      const records = await adminClientFor(context, flags).request<AuditRecord[]>(
        'GET',
        `/api/admin/audit${search}`,
      );
      emit(context, flags.json, {
        json: records,
        human:
          records.length === 0
            ? 'no audit records'
            : formatTable(
                ['ID', 'AT', 'ACTION', 'OUTCOME', 'ACTOR', 'SUBJECT', 'DETAILS'],
                records.map((r) => [
                  String(r.id),
                  r.at,
                  r.action,
                  r.outcome,
                  r.actor,
                  r.subject,
                  formatDetails(r.details),
                ]),
              ),
      });
    },
  );

  const revocations = admin.command('revocations').description('List revocations, newest first.');
  withAdminOptions(
    revocations
      .command('ls')
      .description(
        'List the revocations of connectors and tunnelers, newest first; one lifted by a new enrollment shows ACTIVE no.',
      )
      .option('--limit <n>', 'at most this many, 1 to 1000 (default 100)', positiveInteger),
  ).action(async (flags: AdminFlags & JsonFlag & { limit?: number }) => {
    const list = await adminClientFor(context, flags).request<Revocation[]>(
      'GET',
      `/api/admin/revocations${flags.limit === undefined ? '' : `?limit=${flags.limit}`}`,
    );
    emit(context, flags.json, {
      json: list,
      human:
        list.length === 0
          ? 'no revoked agents'
          : formatTable(
              ['KIND', 'AGENT', 'REVOKED AT', 'BY', 'ACTIVE', 'REASON'],
              list.map((r) => [
                r.kind,
                r.agent_id,
                r.revoked_at,
                r.actor,
                r.active ? 'yes' : `no (lifted ${r.lifted_at ?? '?'})`,
                r.reason,
              ]),
            ),
    });
  });
}

/** `key=value` pairs, strings bare and anything else as JSON, in one cell. */
function formatDetails(details: Record<string, unknown> | undefined): string {
  return Object.entries(details ?? {})
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

function positiveInteger(text: string): number {
  if (!/^\d{1,15}$/.test(text.trim()) || Number(text) < 1)
    throw new InvalidArgumentError('Expected a whole number of 1 or more.');
  return Number(text.trim());
}
