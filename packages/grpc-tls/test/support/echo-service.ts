// A tiny generic gRPC service with raw Buffer messages, so tests need no generated code.
import type { PeerCertificate } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

const raw = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

export const echoService = {
  whoAmI: { path: '/sigil.test.Echo/WhoAmI', requestStream: false, responseStream: false, ...raw },
  ticks: { path: '/sigil.test.Echo/Ticks', requestStream: false, responseStream: true, ...raw },
} as const;

export const EchoClient = grpc.makeGenericClientConstructor(
  echoService as unknown as grpc.ServiceDefinition,
  'Echo',
);

/** What the server saw of the caller. */
export interface PeerView {
  peerSerial?: string;
  peerUri?: string;
}

export interface RunningServer {
  server: grpc.Server;
  port: number;
  address: string;
  stop(): Promise<void>;
}

/** Starts the echo service on 127.0.0.1:0 with the given credentials. */
export async function startEchoServer(credentials: grpc.ServerCredentials): Promise<RunningServer> {
  const server = new grpc.Server();
  server.addService(echoService as unknown as grpc.ServiceDefinition, {
    whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const peer = call.getAuthContext().sslPeerCertificate;
      const view: PeerView = {
        ...(peer
          ? { peerSerial: peer.serialNumber.toLowerCase(), peerUri: peer.subjectaltname }
          : {}),
      };
      callback(null, Buffer.from(JSON.stringify(view)));
    },
    ticks: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      let n = 0;
      const timer = setInterval(() => call.write(Buffer.from(String(n++))), 5);
      const stop = () => clearInterval(timer);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    stop: async () => server.forceShutdown(),
  };
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
  return new Promise((resolve, reject) => {
    (
      client as unknown as {
        whoAmI: (
          req: Buffer,
          opts: grpc.CallOptions,
          cb: (e: grpc.ServiceError | null, r?: Buffer) => void,
        ) => void;
      }
    ).whoAmI(Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, response) =>
      err ? reject(err) : resolve(JSON.parse(response!.toString()) as PeerView),
    );
  });
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
  const stream = (
    client as unknown as { ticks: (req: Buffer) => grpc.ClientReadableStream<Buffer> }
  ).ticks(Buffer.alloc(0));
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
