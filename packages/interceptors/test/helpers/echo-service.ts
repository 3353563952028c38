// A tiny generic service (JSON in Buffers, no proto) and server/client plumbing for the tests.
import * as grpc from '@grpc/grpc-js';

export type Json = Record<string, unknown>;

const serialize = (value: Json): Buffer => Buffer.from(JSON.stringify(value));
const deserialize = (bytes: Buffer): Json => JSON.parse(bytes.toString('utf8')) as Json;

function method(
  path: string,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Json, Json> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}

export const ECHO_SERVICE = {
  echo: method('/sigil.test.v1.EchoService/Echo', false, false),
  admin: method('/sigil.test.v1.EchoService/Admin', false, false),
  chat: method('/sigil.test.v1.EchoService/Chat', true, true),
} satisfies grpc.ServiceDefinition;

export const HEALTH_SERVICE = {
  check: method('/grpc.health.v1.Health/Check', false, false),
} satisfies grpc.ServiceDefinition;

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'EchoService');
export const HealthClient = grpc.makeGenericClientConstructor(HEALTH_SERVICE, 'Health');
export type EchoClient = InstanceType<typeof EchoClient>;

export interface EchoHandlers {
  echo?: grpc.handleUnaryCall<Json, Json>;
  admin?: grpc.handleUnaryCall<Json, Json>;
  chat?: grpc.handleBidiStreamingCall<Json, Json>;
}

export interface RunningServer {
  readonly address: string;
  close(): Promise<void>;
}

const ok: grpc.handleUnaryCall<Json, Json> = (_call, callback) => callback(null, { ok: true });

/** Starts a server on 127.0.0.1:0 with the echo and health services. */
export async function startServer(options: {
  credentials: grpc.ServerCredentials;
  interceptors?: grpc.ServerInterceptor[];
  handlers?: EchoHandlers;
}): Promise<RunningServer> {
  const server = new grpc.Server({ interceptors: options.interceptors ?? [] });
  const handlers = options.handlers ?? {};
  server.addService(ECHO_SERVICE, {
    echo: handlers.echo ?? ok,
    admin: handlers.admin ?? ok,
    chat:
      handlers.chat ??
      ((call: grpc.ServerDuplexStream<Json, Json>) => {
        call.on('data', (message: Json) => call.write(message));
        call.on('end', () => call.end());
      }),
  });
  server.addService(HEALTH_SERVICE, {
    check: (_call: grpc.ServerUnaryCall<Json, Json>, callback: grpc.sendUnaryData<Json>) =>
      callback(null, { status: 'SERVING' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', options.credentials, (err, boundPort) =>
      err ? reject(err) : resolve(boundPort),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** A unary call as a promise; rejects with the grpc ServiceError. */
export function unary(
  client: grpc.Client,
  name: 'echo' | 'admin' | 'check',
  request: Json = {},
  metadata: grpc.Metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<Json> {
  const fn = (
    client as unknown as Record<
      string,
      (
        r: Json,
        m: grpc.Metadata,
        o: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, v?: Json) => void,
      ) => void
    >
  )[name]!;
  return new Promise((resolve, reject) =>
    fn.call(client, request, metadata, options, (err, value) =>
      err ? reject(err) : resolve(value!),
    ),
  );
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

export function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}
