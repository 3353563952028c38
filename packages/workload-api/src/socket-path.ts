import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { SigilError } from '@sigil/errors';

/**
 * The conventional path of a Sigil agent's Workload API socket (docs/workload-api.md).
 *
 * @example
 * ```ts
 * const socketPath = config.workloadApiSocket ?? DEFAULT_WORKLOAD_API_SOCKET;
 * ```
 */
export const DEFAULT_WORKLOAD_API_SOCKET = '/run/sigil/workload-api.sock';

const unusable = (socketPath: string, why: string, variable: string): SigilError =>
  new SigilError('ERR_WORKLOAD_API_UNAVAILABLE', `${variable} ${socketPath}: ${why}`, {
    details: { variable, file: socketPath },
  });

const answers = (socketPath: string): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });

/**
 * Makes `socketPath` ready to listen on: an absolute path whose directory exists (created 0755
 * when missing; a directory that cannot be created is an error naming `variable`) and cannot be written by other users (else another user could swap the socket);
 * a stale socket left by a dead agent is removed, a live one (another agent listening) or any
 * other file is refused. `variable` names the setting in errors.
 *
 * @example
 * ```ts
 * await prepareSocketPath('/run/sigil/workload-api.sock', 'SIGIL_WORKLOAD_API_SOCKET');
 * ```
 */
export async function prepareSocketPath(socketPath: string, variable: string): Promise<void> {
  if (!path.isAbsolute(socketPath))
    throw unusable(socketPath, 'must be an absolute path', variable);
  if (Buffer.byteLength(socketPath) > 107)
    throw unusable(socketPath, 'is longer than a unix socket path may be (107 bytes)', variable);
  const directory = path.dirname(socketPath);
  let dir;
  try {
    const created = mkdirSync(directory, { recursive: true, mode: 0o755 });
    // mkdir's mode goes through the umask (systemd units often set 0077): workloads of other
    // users must reach the socket, so the directories made here get 0755 exactly.
    if (created !== undefined)
      for (let at = directory; at.length >= created.length; at = path.dirname(at))
        chmodSync(at, 0o755);
    dir = statSync(directory);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    throw unusable(
      socketPath,
      `cannot create its directory ${directory} (${code ?? message}); give ${variable} a path this user may create, or \`off\``,
      variable,
    );
  }
  if ((dir.mode & 0o022) !== 0 && (dir.mode & 0o1000) === 0)
    throw unusable(
      socketPath,
      `its directory ${directory} is writable by other users (mode ${(dir.mode & 0o7777).toString(8)}); use a directory only the agent's user can write`,
      variable,
    );
  let existing;
  try {
    existing = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!existing.isSocket())
    throw unusable(
      socketPath,
      'exists and is not a socket; remove it or choose another path',
      variable,
    );
  if (await answers(socketPath))
    throw unusable(socketPath, 'another process is already serving this socket', variable);
  unlinkSync(socketPath);
}

/**
 * Opens the listening socket to every local user (mode 0666): who gets what is decided per
 * connection by attestation, as with SPIRE's public socket.
 *
 * @example
 * ```ts
 * server.listen(socketPath, () => openSocketToWorkloads(socketPath));
 * ```
 */
export function openSocketToWorkloads(socketPath: string): void {
  chmodSync(socketPath, 0o666);
}
