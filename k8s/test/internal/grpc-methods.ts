// Every gRPC method Sigil defines (`/package.Service/Method`), read from the generated service
// definitions of @sigil/proto, so that authorization policies can only name methods that exist.
import * as proto from '@sigil/proto';

function isMethodDefinition(value: unknown): value is { path: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { path?: unknown }).path === 'string'
  );
}

/** The full paths of every method of every service in @sigil/proto. */
export function grpcMethodPaths(): string[] {
  const paths = new Set<string>();
  for (const namespace of Object.values(proto) as Record<string, unknown>[]) {
    for (const [name, definition] of Object.entries(namespace)) {
      if (!name.endsWith('Service') || typeof definition !== 'object' || definition === null)
        continue;
      for (const method of Object.values(definition))
        if (isMethodDefinition(method)) paths.add(method.path);
    }
  }
  return [...paths].sort();
}
