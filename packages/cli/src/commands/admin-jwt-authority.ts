import type { Command } from 'commander';
import { adminClientFor, withAdminOptions } from '../admin/admin-command';
import type { AdminFlags } from '../admin/admin-settings';
import { emit } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { formatTable } from '../internal/table';

/** `GET /api/admin/jwt-authority` and the answer of each step (docs/workload-api.md). */
interface JwtAuthorityView {
  bundle_version: number;
  keys: { role: string; kid: string; since: string }[];
  retire_allowed_at: string | null;
}

type JsonFlag = { json?: boolean };

function statusText(view: JwtAuthorityView): string {
  const table = formatTable(
    ['ROLE', 'KID', 'SINCE'],
    view.keys.map((k) => [k.role, k.kid, k.since]),
  );
  const retire =
    view.retire_allowed_at === null
      ? ''
      : `\nthe previous key may retire from ${view.retire_allowed_at}`;
  return `JWT bundle version ${view.bundle_version}\n${table}${retire}`;
}

/** Registers `sigil admin jwt-authority status|prepare|activate|retire`. @internal */
export function registerAdminJwtAuthority(admin: Command, context: CommandContext): void {
  const group = admin
    .command('jwt-authority')
    .description(
      'Rotate the key that signs JWT-SVIDs: status, prepare, activate, retire (docs/workload-api.md).',
    );
  const step = (
    name: string,
    description: string,
    done: (view: JwtAuthorityView) => string,
    configure: (command: Command) => Command = (command) => command,
  ): void => {
    withAdminOptions(configure(group.command(name).description(description))).action(
      async (flags: AdminFlags & JsonFlag & { force?: boolean }) => {
        const client = adminClientFor(context, flags);
        const view =
          name === 'status'
            ? await client.request<JwtAuthorityView>('GET', '/api/admin/jwt-authority')
            : await client.request<JwtAuthorityView>(
                'POST',
                `/api/admin/jwt-authority/${name}`,
                flags.force === true ? { force: true } : {},
              );
        emit(context, flags.json, { json: view, human: `${done(view)}${statusText(view)}` });
      },
    );
  };
  step(
    'status',
    'Show the published JWT authority keys and when the previous one may retire.',
    () => '',
  );
  step(
    'prepare',
    'Create the next signing key and publish it in the JWT bundle every connector serves (nothing is signed by it yet).',
    () => 'Prepared the next JWT authority key: it is in the JWT bundle; activate it next\n',
  );
  step(
    'activate',
    'Sign JWT-SVIDs with the prepared key; the old one stays in the JWT bundle until retired.',
    () => 'Activated the prepared JWT authority key\n',
  );
  step(
    'retire',
    'Remove the previous key from the JWT bundle; refused while a JWT-SVID it signed may still be valid (the longest entry jwt_ttl after the activation), unless --force.',
    () => 'Retired the previous JWT authority key\n',
    (command) => command.option('--force', 'retire even though its JWT-SVIDs may still be valid'),
  );
}
