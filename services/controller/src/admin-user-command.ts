import { fstatSync, readFileSync } from 'node:fs';
import { SigilError } from '@sigil/errors';
import { ensurePrivateDirectory } from '@sigil/pki';
import { ADMIN_ROLES, addAdminUser, removeAdminUser, setAdminPassword } from './admin-auth/users';
import type { ControllerConfig } from './config';
import type { AdminUserRole } from './store/admin-auth-store';
import { openControllerStore } from './store/open-store';

const USAGE =
  'usage: sigil-controller admin-user add NAME [--role viewer|admin] | rm NAME | passwd NAME [flags]';

/** `sigil-controller admin-user VERB NAME [--role ROLE]`, split from the controller's own flags. */
export interface AdminUserArgs {
  verb: 'add' | 'rm' | 'passwd';
  name: string;
  role: AdminUserRole;
  /** The rest: the controller's settings flags (`--data-dir`, ...). */
  rest: string[];
}

/**
 * Parses the arguments after `admin-user`: the verb, the user name, `--role` (add only; default
 * `viewer`); everything else is left for the settings parser. `ERR_USAGE` names what is wrong.
 *
 * @example
 * ```ts
 * parseAdminUserArgs(['add', 'alice', '--role', 'admin']); // { verb: 'add', name: 'alice', role: 'admin', rest: [] }
 * ```
 */
export function parseAdminUserArgs(argv: readonly string[]): AdminUserArgs {
  const [verb, name, ...tail] = argv;
  if (verb !== 'add' && verb !== 'rm' && verb !== 'passwd')
    throw new SigilError(
      'ERR_USAGE',
      `${USAGE} (got ${verb === undefined ? 'no verb' : `"${verb}"`})`,
    );
  if (name === undefined || name.startsWith('-'))
    throw new SigilError('ERR_USAGE', `${USAGE} (NAME is missing)`);
  let role: AdminUserRole = 'viewer';
  const rest: string[] = [];
  for (let i = 0; i < tail.length; i += 1) {
    const arg = tail[i]!;
    const value = arg.startsWith('--role=') ? arg.slice('--role='.length) : undefined;
    if (arg !== '--role' && value === undefined) {
      rest.push(arg);
      continue;
    }
    const given = value ?? tail[++i];
    if (verb !== 'add') throw new SigilError('ERR_USAGE', `${USAGE} (--role is for add only)`);
    if (given !== 'viewer' && given !== 'admin')
      throw new SigilError(
        'ERR_USAGE',
        `--role must be one of ${ADMIN_ROLES.join(', ')} (got ${given === undefined ? 'nothing' : `"${given}"`})`,
      );
    role = given;
  }
  return { verb, name, role, rest };
}

/** What {@link runAdminUserCommand} reports: a line for the operator, a generated password to print once. */
export interface AdminUserOutcome {
  message: string;
  /** Only when generated: the caller prints it once. */
  generatedPassword?: string;
}

/**
 * Reads a password piped (or redirected from a file) on standard input, its first line; undefined
 * when standard input is a terminal or `/dev/null` (a password is then generated).
 *
 * @example
 * ```ts
 * const password = readPipedPassword();
 * ```
 */
export function readPipedPassword(): string | undefined {
  const stdin = fstatSync(0);
  if (!stdin.isFIFO() && !stdin.isFile() && !stdin.isSocket()) return undefined;
  const line = readFileSync(0, 'utf8').split(/\r?\n/)[0]!;
  if (line === '')
    throw new SigilError(
      'ERR_USAGE',
      'standard input is piped but empty: pipe the password, or run in a terminal to have one generated',
    );
  return line;
}

/**
 * `sigil-controller admin-user add|rm|passwd NAME` against the controller's store (SQLite under
 * `DATA_DIR`, or `DATABASE_URL`): creates a console user (`--role`, default viewer), removes one
 * with their sessions and API tokens, or sets a password (ending their sessions on every
 * replica). `password` is the piped one; without it one is generated and returned.
 *
 * @example
 * ```ts
 * const outcome = await runAdminUserCommand(parseAdminUserArgs(argv), config, readPipedPassword);
 * ```
 */
export async function runAdminUserCommand(
  args: AdminUserArgs,
  config: ControllerConfig,
  password: () => string | undefined,
): Promise<AdminUserOutcome> {
  if (config.databaseUrl === undefined)
    ensurePrivateDirectory(config.dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  const store = await openControllerStore({
    dataDir: config.dataDir,
    ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }),
  });
  try {
    await store.migrate();
    const { name } = args;
    if (args.verb === 'rm') {
      await removeAdminUser(store.adminAuth, name);
      return { message: `removed console user "${name}"; their sessions and API tokens ended` };
    }
    const outcome =
      args.verb === 'add'
        ? await addAdminUser(store.adminAuth, {
            name,
            role: args.role,
            password: password(),
            now: new Date(),
          })
        : await setAdminPassword(store.adminAuth, name, password(), new Date());
    const done =
      args.verb === 'add'
        ? `created console user "${name}" (role ${args.role})`
        : `set the password of "${name}"; their sessions ended`;
    return outcome.generated
      ? {
          message: `${done}; the generated password is above, shown only this once`,
          generatedPassword: outcome.password,
        }
      : { message: done };
  } finally {
    await store.close();
  }
}
