import type { Socket } from 'node:net';
import * as path from 'node:path';
import { SigilError } from '@sigil/errors';

/**
 * Who is at the other end of a unix socket connection, as the kernel recorded it at `connect()`
 * (`SO_PEERCRED`): the peer cannot forge it.
 *
 * @example
 * ```ts
 * const { pid, uid, gid }: PeerCredentials = peerCredentialsOf(socket);
 * ```
 */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

interface NativeBinding {
  peerCredentials(fd: number): PeerCredentials;
}

let binding: NativeBinding | undefined;

function loadBinding(): NativeBinding {
  if (binding !== undefined) return binding;
  const file = path.join(__dirname, '..', 'build', 'Release', 'peer_credentials.node');
  try {
    const addon = { exports: {} as NativeBinding };
    process.dlopen(addon, file);
    binding = addon.exports;
  } catch (cause) {
    throw new SigilError(
      'ERR_WORKLOAD_ATTESTATION_FAILED',
      `the SO_PEERCRED addon ${file} cannot be loaded (${(cause as Error).message}): it is built by node-gyp when @sigil/workload-api is installed; run \`pnpm rebuild @sigil/workload-api\` (needs python3, make and a C compiler)`,
      { cause, details: { file } },
    );
  }
  return binding;
}

/**
 * The peer credentials of an accepted unix socket connection, read with `getsockopt(SO_PEERCRED)`
 * on its file descriptor through the package's small Node-API addon (Node has no such call).
 * Throws `ERR_WORKLOAD_ATTESTATION_FAILED` when the socket has no descriptor (not a unix socket,
 * already closed) or the call fails.
 *
 * @example
 * ```ts
 * net.createServer((socket) => {
 *   const { uid } = peerCredentialsOf(socket);
 * });
 * ```
 */
export function peerCredentialsOf(socket: Socket): PeerCredentials {
  // net.Socket keeps its libuv handle in _handle; a Pipe handle exposes its descriptor as fd.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new SigilError(
      'ERR_WORKLOAD_ATTESTATION_FAILED',
      'the connection has no file descriptor to read SO_PEERCRED from (closed, or not a unix socket)',
    );
  try {
    return loadBinding().peerCredentials(fd);
  } catch (cause) {
    if (cause instanceof SigilError) throw cause;
    throw new SigilError(
      'ERR_WORKLOAD_ATTESTATION_FAILED',
      `cannot read the peer credentials of the connection: ${(cause as Error).message}`,
      { cause },
    );
  }
}
