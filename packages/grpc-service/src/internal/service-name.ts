import type * as grpc from '@grpc/grpc-js';

/** The fully-qualified name of the service a definition describes (`sigil.user.v1.UserService`). */
export function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const [first] = Object.values(definition);
  const path = first?.path ?? '';
  return path.slice(1, path.lastIndexOf('/'));
}
