import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { GrpcServiceRegistration } from './grpc-service';

/**
 * The gRPC server reflection services (`grpc.reflection.v1` and `v1alpha`, from
 * `@grpc/reflection`) describing the services of `protoFiles` (relative to `protoRoot`, which
 * is also the import path, e.g. `@sigil/proto`'s directory and `sigil/content/v1/content.proto`), as registrations for
 * `startGrpcService`, so tools such as `grpcurl ... list` work without the .proto files. Their
 * methods still pass the authorization policy like any other.
 *
 * @example
 * ```ts
 * await startGrpcService({
 *   config, logger,
 *   services: [
 *     { definition, implementation },
 *     ...reflectionServices(dirname(require.resolve('@sigil/proto/package.json')), ['sigil/content/v1/content.proto']),
 *   ],
 * });
 * ```
 */
export function reflectionServices(
  protoRoot: string,
  protoFiles: readonly string[],
): GrpcServiceRegistration[] {
  const definitions = loadSync(
    protoFiles.map((file) => join(protoRoot, file)),
    { includeDirs: [protoRoot] },
  );
  const registrations: GrpcServiceRegistration[] = [];
  new ReflectionService(definitions).addToServer({
    addService: (definition, implementation) => registrations.push({ definition, implementation }),
  });
  return registrations;
}
