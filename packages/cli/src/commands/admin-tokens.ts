import { Option } from 'commander';
import type { Command } from 'commander';
import { tokenFingerprint } from '@sigil/pki';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { parseDuration } from '../internal/parse';
import { formatTable, formatTimeFrom } from '../internal/table';

/** `POST /api/admin/tokens` answers this (docs/admin-api.md). */
interface CreatedToken {
  token: string;
  expires_at: string;
  kind: string;
  id: string;
  connector_id?: string;
  spiffe_id: string;
}

/** One pending token of `GET /api/admin/tokens`: never the secret. */
interface PendingToken {
  token_id: string;
  kind: string;
  id: string;
  connector_id?: string;
  expires_at: string;
  created_at: string;
}

type JsonFlag = { json?: boolean };

/** Registers `sigil admin tokens create|ls|rm`. @internal */
export function registerAdminTokens(admin: Command, context: CommandContext): void {
  const tokens = admin.command('tokens').description('Create, list and cancel enrollment tokens.');

  withAdminOptions(
    tokens
      .command('create')
      .description(
        'Create a one-time enrollment token for a connector or a tunneler; the token is shown only once.',
      )
      .addOption(
        new Option(
          '--kind <kind>',
          'what the token enrolls: connector or tunneler',
        ).makeOptionMandatory(),
      )
      .requiredOption('--id <id>', 'the CONNECTOR_ID or TUNNELER_ID it enrolls')
      .option('--connector-id <id>', 'tunnelers: the connector the tunneler belongs to')
      .option(
        '--ttl <duration>',
        "token lifetime: 90s, 15m, 24h (default the controller's ENROLLMENT_TOKEN_TTL, 15m)",
        parseDuration,
      )
      .option(
        '--label <label>',
        'tunnelers: a label stored with the tunneler, which grants may name (repeatable)',
        (label: string, previous: string[] = []) => [...previous, label],
      ),
  ).action(
    async (
      flags: AdminFlags &
        JsonFlag & {
          kind: string;
          id: string;
          connectorId?: string;
          ttl?: number;
          label?: string[];
        },
    ) => {
      // The controller validates kind, id, connector_id and the TTL: its 400 names the field.
      const created = await adminClientFor(context, flags).request<CreatedToken>(
        'POST',
        '/api/admin/tokens',
        {
          kind: flags.kind,
          id: flags.id,
          ...(flags.connectorId === undefined ? {} : { connector_id: flags.connectorId }),
          ...(flags.ttl === undefined ? {} : { ttl_seconds: flags.ttl }),
          ...(flags.label === undefined ? {} : { labels: flags.label }),
        },
      );
      emit(context, flags.json, {
        json: created,
        human: [
          `Created an enrollment token for ${created.kind} ${created.id}${created.connector_id ? ` (connector ${created.connector_id})` : ''}`,
          `  token      ${created.token}`,
          `  token id   ${tokenFingerprint(created.token)} (what tokens ls shows and tokens rm takes)`,
          `  SPIFFE ID  ${created.spiffe_id}`,
          `  expires    ${formatTimeFrom(created.expires_at, context.now ?? new Date())}`,
          'It is shown only now and redeems once: pass it to the agent as ENROLLMENT_TOKEN.',
        ].join('\n'),
      });
    },
  );

  withAdminOptions(
    tokens
      .command('ls')
      .description('List the pending (unused, unexpired) enrollment tokens; never their secrets.'),
  ).action(async (flags: AdminFlags & JsonFlag) => {
    const pending = await adminClientFor(context, flags).request<PendingToken[]>(
      'GET',
      '/api/admin/tokens',
    );
    const now = context.now ?? new Date();
    emit(context, flags.json, {
      json: pending,
      human:
        pending.length === 0
          ? 'no pending enrollment tokens'
          : formatTable(
              ['TOKEN ID', 'KIND', 'AGENT', 'CONNECTOR', 'CREATED', 'EXPIRES'],
              pending.map((t) => [
                t.token_id,
                t.kind,
                t.id,
                t.connector_id ?? '-',
                t.created_at,
                formatTimeFrom(t.expires_at, now),
              ]),
            ),
    });
  });

  withAdminOptions(
    tokens
      .command('rm')
      .description('Cancel a pending enrollment token: it can no longer enroll anything.')
      .argument('<token-id>', 'the TOKEN ID `sigil admin tokens ls` shows (not the secret)'),
  ).action(async (tokenId: string, flags: AdminFlags & JsonFlag) => {
    const cancelled = await adminClientFor(context, flags).request<PendingToken>(
      'DELETE',
      `/api/admin/tokens/${encodeURIComponent(tokenId)}`,
    );
    emit(context, flags.json, {
      json: cancelled,
      human: `Cancelled enrollment token ${cancelled.token_id} for ${cancelled.kind} ${cancelled.id}: it can no longer enroll anything`,
    });
  });
}
