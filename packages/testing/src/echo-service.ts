import * as grpc from '@grpc/grpc-js';

/**
 * A message of the echo service: any JSON object (the service needs no generated code).
 *
 * @example
 * ```ts
 * const request: Json = { text: 'hi' };
 * ```
 */
export type Json = Record<string, unknown>;

const serialize = (value: Json): Buffer => Buffer.from(JSON.stringify(value));
const deserialize = (bytes: Buffer): Json =>
  bytes.length === 0 ? {} : (JSON.parse(bytes.toString('utf8')) as Json);

function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Json, Json> {
  return {
    path: `/${ECHO_SERVICE_NAME}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}

/**
 * The echo service's full name, as authorization rules and health checks name it.
 *
 * @example
 * ```ts
 * const rule = { name: 'callers', methods: [`${ECHO_SERVICE_NAME}/*`], callers: [callerId] };
 * ```
 */
export const ECHO_SERVICE_NAME = 'sigil.test.v1.EchoService';

/**
 * The echo service: `Echo` (unary, answers with the request), `Admin` (unary, `{ ok: true }`, a
 * second method for authorization rules), `Slow` (unary, answers after `request.delayMs`),
 * `WhoAmI` (unary, what TLS told the server of the caller), `Ticks` (server stream, a message
 * every 5 ms until cancelled) and `Chat` (bidi, echoes each message).
 *
 * @example
 * ```ts
 * server.addService(ECHO_SERVICE, echoImplementation({ echo: (call, callback) => callback(null, {}) }));
 * ```
 */
export const ECHO_SERVICE = {
  echo: method('Echo', false, false),
  admin: method('Admin', false, false),
  slow: method('Slow', false, false),
  whoAmI: method('WhoAmI', false, false),
  ticks: method('Ticks', false, true),
  chat: method('Chat', true, true),
} satisfies grpc.ServiceDefinition;

/**
 * The standard health service's `Check` on the same JSON codec, answering `SERVING`.
 *
 * @example
 * ```ts
 * const health = new HealthClient(server.address, credentials);
 * await unary(health, 'check'); // { status: 'SERVING' }
 * ```
 */
export const HEALTH_SERVICE = {
  check: {
    ...method('Check', false, false),
    path: '/grpc.health.v1.Health/Check',
  },
} satisfies grpc.ServiceDefinition;

type UnaryMethod = (
  request: Json,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, response?: Json) => void,
) => grpc.ClientUnaryCall;

/**
 * A client of the echo service (typed unary methods, streams as grpc-js makes them).
 *
 * @example
 * ```ts
 * const client: EchoClient = new EchoClient(server.address, credentials);
 * ```
 */
export type EchoClient = grpc.Client & {
  echo: UnaryMethod;
  admin: UnaryMethod;
  slow: UnaryMethod;
  whoAmI: UnaryMethod;
  ticks(request: Json, metadata?: grpc.Metadata): grpc.ClientReadableStream<Json>;
  chat(metadata?: grpc.Metadata): grpc.ClientDuplexStream<Json, Json>;
};

/**
 * The echo service's client constructor.
 *
 * @example
 * ```ts
 * const client = new EchoClient(server.address, grpc.credentials.createInsecure());
 * await unary(client, 'echo', { text: 'hi' }); // { text: 'hi' }
 * ```
 */
export const EchoClient = grpc.makeGenericClientConstructor(
  ECHO_SERVICE,
  ECHO_SERVICE_NAME,
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ChannelOptions>,
) => EchoClient;

/**
 * The health service's client constructor.
 *
 * @example
 * ```ts
 * const health = new HealthClient(server.address, credentials);
 * ```
 */
export const HealthClient = grpc.makeGenericClientConstructor(HEALTH_SERVICE, 'Health');

/**
 * Handlers that replace the echo service's defaults, method by method.
 *
 * @example
 * ```ts
 * const handlers: EchoHandlers = { admin: (_call, callback) => callback(null, { admin: true }) };
 * ```
 */
export interface EchoHandlers {
  echo?: grpc.handleUnaryCall<Json, Json>;
  admin?: grpc.handleUnaryCall<Json, Json>;
  slow?: grpc.handleUnaryCall<Json, Json>;
  whoAmI?: grpc.handleUnaryCall<Json, Json>;
  ticks?: grpc.handleServerStreamingCall<Json, Json>;
  chat?: grpc.handleBidiStreamingCall<Json, Json>;
}

/**
 * The echo service's implementation: the defaults described at {@link ECHO_SERVICE}, with
 * `handlers` in their place where given.
 *
 * @example
 * ```ts
 * const implementation = echoImplementation({ slow: (call, callback) => pending.push(() => callback(null, call.request)) });
 * ```
 */
export function echoImplementation(handlers: EchoHandlers = {}): grpc.UntypedServiceImplementation {
  const defaults: Required<EchoHandlers> = {
    echo: (call, callback) => callback(null, call.request),
    admin: (_call, callback) => callback(null, { ok: true }),
    slow: (call, callback) => {
      setTimeout(() => callback(null, call.request), Number(call.request['delayMs'] ?? 0));
    },
    whoAmI: (call, callback) => {
      const peer = call.getAuthContext().sslPeerCertificate;
      callback(
        null,
        peer ? { peerSerial: peer.serialNumber.toLowerCase(), peerUri: peer.subjectaltname } : {},
      );
    },
    ticks: (call) => {
      let n = 0;
      const timer = setInterval(() => call.write({ n: n++ }), 5);
      const stop = () => clearInterval(timer);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
    chat: (call) => {
      call.on('data', (message: Json) => call.write(message));
      call.on('end', () => call.end());
    },
  };
  const given = Object.entries(handlers).filter(([, handler]) => handler !== undefined);
  return { ...defaults, ...Object.fromEntries(given) } as grpc.UntypedServiceImplementation;
}

/**
 * A running echo server, from {@link startEchoServer}.
 *
 * @example
 * ```ts
 * const server: RunningEchoServer = await startEchoServer({ credentials });
 * await server.close();
 * ```
 */
export interface RunningEchoServer {
  readonly server: grpc.Server;
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** Shuts the server down at once, cancelling calls in flight. */
  close(): Promise<void>;
}

/**
 * Starts a grpc-js server on 127.0.0.1:0 with the echo and health services.
 *
 * @example
 * ```ts
 * const server = await startEchoServer({ credentials: handle.credentials, interceptors: [authz] });
 * const client = new EchoClient(server.address, clientCredentials);
 * await unary(client, 'echo', { text: 'hi' });
 * await server.close();
 * ```
 */
export async function startEchoServer(options: {
  credentials: grpc.ServerCredentials;
  interceptors?: grpc.ServerInterceptor[];
  handlers?: EchoHandlers;
}): Promise<RunningEchoServer> {
  const server = new grpc.Server({ interceptors: options.interceptors ?? [] });
  server.addService(ECHO_SERVICE, echoImplementation(options.handlers));
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
    server,
    port,
    address: `127.0.0.1:${port}`,
    close: async () => server.forceShutdown(),
  };
}

/**
 * A unary call of the echo or health service as a promise; rejects with the grpc ServiceError.
 *
 * @example
 * ```ts
 * const reply = await unary(client, 'echo', { text: 'hi' }, metadata, { deadline: Date.now() + 5000 });
 * ```
 */
export function unary(
  client: grpc.Client,
  name: 'echo' | 'admin' | 'slow' | 'whoAmI' | 'check',
  request: Json = {},
  metadata: grpc.Metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<Json> {
  const call = (client as unknown as Record<string, UnaryMethod>)[name]!;
  return new Promise((resolve, reject) =>
    call.call(client, request, metadata, options, (err, value) =>
      err ? reject(err) : resolve(value!),
    ),
  );
}

/**
 * The error a promise rejects with; throws if it resolves.
 *
 * @example
 * ```ts
 * const err = await failure(unary(client, 'echo'));
 * expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
 * ```
 */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}
