import { connect } from 'node:net';

/**
 * Whether a TCP connection to `address` (`host:port`, `[v6]:port`) opens within `timeoutMs`; the
 * connection is closed at once, nothing is sent. The stream supervisor uses it to notice that a
 * peer it lost answers again, instead of sleeping out a long backoff.
 *
 * @example
 * ```ts
 * if (await tcpReachable('10.0.0.5:8443', 1_000)) reconnectSoon();
 * ```
 */
export function tcpReachable(address: string, timeoutMs: number): Promise<boolean> {
  const { hostname, port } = new URL(`tcp://${address}`);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    const done = (reachable: boolean): void => {
      socket.destroy();
      resolve(reachable);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
