import { readFile, readlink } from 'node:fs/promises';
import { SigilError } from '@sigil/errors';
import type { PeerCredentials } from './peer-credentials';

/**
 * Where {@link attestWorkload} reads the process and account databases (tests point them at
 * fixtures; the agent uses the defaults).
 *
 * @example
 * ```ts
 * const options: AttestationOptions = { procRoot: '/proc', passwdFile: '/etc/passwd', groupFile: '/etc/group' };
 * ```
 */
export interface AttestationOptions {
  /** Default `/proc`. */
  procRoot?: string;
  /** Default `/etc/passwd`. */
  passwdFile?: string;
  /** Default `/etc/group`. */
  groupFile?: string;
}

/**
 * The selectors of a uid and gid: `unix:uid:N`, `unix:gid:N`, and `unix:user:NAME` /
 * `unix:group:NAME` when `passwd` / `group` (the files' text) name them.
 *
 * @example
 * ```ts
 * unixSelectors({ pid: 1, uid: 0, gid: 0 }, 'root:x:0:0::/root:/bin/sh\n', 'root:x:0:\n');
 * // ['unix:uid:0', 'unix:gid:0', 'unix:user:root', 'unix:group:root']
 * ```
 */
export function unixSelectors(credentials: PeerCredentials, passwd = '', group = ''): string[] {
  const selectors = [`unix:uid:${credentials.uid}`, `unix:gid:${credentials.gid}`];
  const nameOf = (text: string, id: number): string | undefined =>
    text
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields.length >= 3 && fields[2] === String(id))?.[0];
  const user = nameOf(passwd, credentials.uid);
  const groupName = nameOf(group, credentials.gid);
  if (user !== undefined && user !== '') selectors.push(`unix:user:${user}`);
  if (groupName !== undefined && groupName !== '') selectors.push(`unix:group:${groupName}`);
  return selectors;
}

const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/**
 * The Kubernetes pod UID in a process's `/proc/PID/cgroup` text (cgroupfs `.../pod<uid>/...` and
 * systemd `...-pod<uid with underscores>.slice` layouts), or undefined outside a pod.
 *
 * @example
 * ```ts
 * podUidFromCgroup('0::/kubepods.slice/kubepods-besteffort-pod1b2c3d4e_0000_1111_2222_333344445555.slice/cri-containerd-ab.scope');
 * // '1b2c3d4e-0000-1111-2222-333344445555'
 * ```
 */
export function podUidFromCgroup(cgroup: string): string | undefined {
  for (const line of cgroup.split('\n')) {
    const match = POD_UID.exec(line);
    if (match !== null) return match[1]!.replace(/_/g, '-');
  }
  return undefined;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), after the parenthesised command name. */
function startTimeOf(stat: string): string | undefined {
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .at(19);
}

const readOptional = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');

/**
 * The selectors of the process behind a connection: {@link unixSelectors}, `unix:path:<exe>`
 * (the executable, from `/proc/PID/exe`) and `k8s:pod-uid:<uid>` when its cgroup names a pod.
 * The process is read twice and must keep its start time in between, so a pid reused by another
 * process during attestation is refused (`ERR_WORKLOAD_ATTESTATION_FAILED`), as is a process that
 * is gone.
 *
 * @example
 * ```ts
 * const selectors = await attestWorkload(peerCredentialsOf(socket));
 * // ['unix:uid:1000', 'unix:gid:1000', 'unix:user:app', 'unix:path:/usr/bin/node', ...]
 * ```
 */
export async function attestWorkload(
  credentials: PeerCredentials,
  options: AttestationOptions = {},
): Promise<string[]> {
  const proc = `${options.procRoot ?? '/proc'}/${credentials.pid}`;
  const failed = (why: string): SigilError =>
    new SigilError(
      'ERR_WORKLOAD_ATTESTATION_FAILED',
      `cannot attest the calling process (pid ${credentials.pid}, uid ${credentials.uid}): ${why}`,
      { details: { pid: credentials.pid, uid: credentials.uid } },
    );
  const before = startTimeOf(await readOptional(`${proc}/stat`));
  if (before === undefined) throw failed('the process is gone');
  const [passwd, group, exe, cgroup] = await Promise.all([
    readOptional(options.passwdFile ?? '/etc/passwd'),
    readOptional(options.groupFile ?? '/etc/group'),
    readlink(`${proc}/exe`).catch(() => undefined),
    readOptional(`${proc}/cgroup`),
  ]);
  if (startTimeOf(await readOptional(`${proc}/stat`)) !== before)
    throw failed('the process exited or its pid was reused while it was attested');
  const selectors = unixSelectors(credentials, passwd, group);
  if (exe !== undefined) selectors.push(`unix:path:${exe.replace(/ \(deleted\)$/, '')}`);
  const podUid = podUidFromCgroup(cgroup);
  if (podUid !== undefined) selectors.push(`k8s:pod-uid:${podUid}`);
  return selectors;
}
