// Calls of the @sigil/testing echo service that the TLS tests make, and a raw TLS probe.
import type { PeerCertificate } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { EchoClient, unary } from '@sigil/testing';

/** What the server saw of the caller. */
export interface PeerView {
  peerSerial?: string;
  peerUri?: string;
}

/** One WhoAmI call on a fresh client; the client is closed afterwards. */
export async function whoAmI(
  target: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
): Promise<PeerView> {
  const client = new EchoClient(target, credentials, options);
  try {
    return await callWhoAmI(client);
  } finally {
    client.close();
  }
}

export function callWhoAmI(client: grpc.Client): Promise<PeerView> {
  return unary(client, 'whoAmI', {}, new grpc.Metadata(), {
    deadline: Date.now() + 5000,
  }) as Promise<PeerView>;
}

/** Expects the call to fail and returns the gRPC error. */
export async function whoAmIFails(
  target: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
): Promise<grpc.ServiceError> {
  try {
    await whoAmI(target, credentials, options);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** A server-streaming call that counts messages; `next(n)` resolves once n more messages arrived. */
export function openTicks(client: grpc.Client) {
  const stream = (client as EchoClient).ticks({});
  let received = 0;
  let failure: Error | undefined;
  const waiters: { target: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  stream.on('data', () => {
    received += 1;
    for (const waiter of waiters.filter((w) => received >= w.target)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  stream.on('error', (err: grpc.ServiceError) => {
    if (err.code === grpc.status.CANCELLED) return;
    failure = err;
    for (const waiter of waiters.splice(0)) waiter.reject(err);
  });
  return {
    get received() {
      return received;
    },
    next(count: number): Promise<void> {
      if (failure) return Promise.reject(failure);
      const target = received + count;
      return new Promise((resolve, reject) => waiters.push({ target, resolve, reject }));
    },
    cancel: () => stream.cancel(),
  };
}

/** The certificate a new TLS connection to `port` is served (serial, lowercase), presenting the given client identity. */
export function servedCertificate(
  port: number,
  client: { ca: string; cert: string; key: string },
  servername = 'localhost',
): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        ...client,
        servername,
        ALPNProtocols: ['h2'],
        checkServerIdentity: () => undefined,
      },
      () => {
        const certificate = socket.getPeerCertificate();
        // Wait for the server's first HTTP/2 frame: in TLS 1.3 that is when it has accepted our certificate.
        socket.once('data', () => {
          socket.destroy();
          resolve(certificate);
        });
      },
    );
    socket.on('error', reject);
  });
}
