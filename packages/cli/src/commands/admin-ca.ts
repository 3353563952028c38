import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable } from '../internal/table';

/** One generation of `GET /api/admin/ca` (docs/admin-api.md). */
interface GenerationView {
  role: string;
  generation: number;
  fingerprint: string;
  not_after: string;
  upstream: boolean;
  live_certificates: { connector: number; tunneler: number };
}

interface AgentReport {
  kind: string;
  id: string;
}

interface ActivationView {
  allowed: boolean;
  basis: string;
  grace_period_ends_at: string;
  acknowledged: AgentReport[];
  pending: AgentReport[];
  offline: AgentReport[];
}

interface StatusView {
  bundle_version: number;
  generations: GenerationView[];
  activation: ActivationView | null;
}

interface StepView {
  bundle_version: number;
  next: number | null;
  current: number;
  previous: number | null;
  activation?: ActivationView;
  told_to_renew?: string[];
  still_stranded?: string[];
}

type JsonFlag = { json?: boolean };

const generations = (step: StepView): string =>
  `generations: next ${step.next ?? '-'}, current ${step.current}, previous ${step.previous ?? '-'}; bundle version ${step.bundle_version}`;

function statusText(status: StatusView): string {
  const table = formatTable(
    ['ROLE', 'GEN', 'NOT AFTER', 'CONNECTORS', 'TUNNELERS', 'FINGERPRINT'],
    status.generations.map((g) => [
      g.role,
      String(g.generation) + (g.upstream ? ' (upstream)' : ''),
      g.not_after,
      String(g.live_certificates.connector),
      String(g.live_certificates.tunneler),
      g.fingerprint,
    ]),
  );
  const activation = status.activation;
  const tail =
    activation === null
      ? ''
      : `\nactivation: ${activation.allowed ? 'allowed' : 'not yet'} (${activation.basis}); ${activation.acknowledged.length} acknowledged, ${activation.pending.length} pending${activation.pending.length > 0 ? ` (${activation.pending.map((a) => `${a.kind} ${a.id}`).join(', ')})` : ''}, ${activation.offline.length} offline; grace period ends ${activation.grace_period_ends_at}`;
  return `bundle version ${status.bundle_version}\n${table}${tail}`;
}

/** Registers `sigil admin ca status|prepare|activate|retire`. @internal */
export function registerAdminCa(admin: Command, context: CommandContext): void {
  const group = admin
    .command('ca')
    .description('Rotate the runtime CA: status, prepare, activate, retire (docs/operations.md).');

  withAdminOptions(
    group
      .command('status')
      .description(
        'Show the CA generations, how many live agent certificates chain to each, and who has acknowledged a prepared root.',
      ),
  ).action(async (flags: AdminFlags & JsonFlag) => {
    const status = await adminClientFor(context, flags).request<StatusView>('GET', '/api/admin/ca');
    emit(context, flags.json, { json: status, human: statusText(status) });
  });

  withAdminOptions(
    group
      .command('prepare')
      .description(
        'Create the next CA generation and add its root to the bundle every agent receives (nothing is signed by it yet).',
      )
      .option('--upstream-root <file>', "the operator's root certificate (on the controller host)")
      .option('--upstream-certificate <file>', 'the intermediate certificate the root signed')
      .option('--upstream-key <file>', "the intermediate's private key")
      .option('--upstream-root-key <file>', "the root's key, used once to sign a new intermediate"),
  ).action(
    async (
      flags: AdminFlags &
        JsonFlag & {
          upstreamRoot?: string;
          upstreamCertificate?: string;
          upstreamKey?: string;
          upstreamRootKey?: string;
        },
    ) => {
      const upstream =
        flags.upstreamRoot === undefined
          ? undefined
          : {
              root_certificate_file: flags.upstreamRoot,
              ...(flags.upstreamRootKey === undefined
                ? {
                    intermediate_certificate_file: flags.upstreamCertificate,
                    intermediate_key_file: flags.upstreamKey,
                  }
                : { root_key_file: flags.upstreamRootKey }),
            };
      const step = await adminClientFor(context, flags).request<StepView>(
        'POST',
        '/api/admin/ca/prepare',
        upstream === undefined ? {} : { upstream },
      );
      emit(context, flags.json, {
        json: step,
        human: `Prepared runtime CA generation ${step.next}: its root is in the bundle; activate once the agents have acknowledged it\n${generations(step)}`,
      });
    },
  );

  withAdminOptions(
    group
      .command('activate')
      .description(
        'Sign new certificates with the prepared generation; refused until every online agent acknowledged its root, or the grace period (CA_ACTIVATION_GRACE) is over.',
      ),
  ).action(async (flags: AdminFlags & JsonFlag) => {
    const step = await adminClientFor(context, flags).request<StepView>(
      'POST',
      '/api/admin/ca/activate',
      {},
    );
    emit(context, flags.json, {
      json: step,
      human: `Activated runtime CA generation ${step.current} (${step.activation?.basis ?? ''})\n${generations(step)}`,
    });
  });

  withAdminOptions(
    group
      .command('retire')
      .description(
        'Remove the previous root from the bundle; refused while live certificates still chain to it, unless --force (which tells those agents to renew first).',
      )
      .option('--force', 'retire even with live certificates under the old root')
      .option('--wait <seconds>', 'with --force: how long to wait for them to renew (default 30)'),
  ).action(async (flags: AdminFlags & JsonFlag & { force?: boolean; wait?: string }) => {
    const step = await adminClientFor(context, flags).request<StepView>(
      'POST',
      '/api/admin/ca/retire',
      {
        ...(flags.force === true ? { force: true } : {}),
        ...(flags.wait === undefined ? {} : { wait_seconds: Number(flags.wait) }),
      },
    );
    const stranded = step.still_stranded ?? [];
    emit(context, flags.json, {
      json: step,
      human: `Retired the previous runtime CA generation\n${generations(step)}${stranded.length > 0 ? `\nstill under the old root (must enroll again): ${stranded.join(', ')}` : ''}`,
    });
  });
}
