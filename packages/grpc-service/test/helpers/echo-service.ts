// A tiny JSON-over-gRPC service for exercising startGrpcService without depending on @sigil/proto.
import * as grpc from '@grpc/grpc-js';

export interface EchoMessage {
  text: string;
}

const json = {
  serialize: (value: EchoMessage): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (buffer: Buffer): EchoMessage => JSON.parse(buffer.toString('utf8')) as EchoMessage,
};

function method(name: string): grpc.MethodDefinition<EchoMessage, EchoMessage> {
  return {
    path: `/sigil.test.v1.Echo/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export const ECHO_SERVICE = 'sigil.test.v1.Echo';
export const echoDefinition: grpc.ServiceDefinition = {
  echo: method('Echo'),
  slow: method('Slow'),
};

export type EchoClient = grpc.Client & {
  echo(
    request: EchoMessage,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (err: grpc.ServiceError | null, res: EchoMessage) => void,
  ): grpc.ClientUnaryCall;
  slow(
    request: EchoMessage,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (err: grpc.ServiceError | null, res: EchoMessage) => void,
  ): grpc.ClientUnaryCall;
};

export const EchoClient = grpc.makeGenericClientConstructor(
  echoDefinition,
  'Echo',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ChannelOptions>,
) => EchoClient;

/** Echo answers at once; Slow answers when the test calls the `release` it was handed. */
export function createEchoImplementation(
  onSlow: (release: () => void) => void,
): grpc.UntypedServiceImplementation {
  return {
    echo: (
      call: grpc.ServerUnaryCall<EchoMessage, EchoMessage>,
      callback: grpc.sendUnaryData<EchoMessage>,
    ) => callback(null, { text: call.request.text }),
    slow: (
      call: grpc.ServerUnaryCall<EchoMessage, EchoMessage>,
      callback: grpc.sendUnaryData<EchoMessage>,
    ) => onSlow(() => callback(null, { text: `slow ${call.request.text}` })),
  };
}
