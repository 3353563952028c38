// Offline schema validation: each object against its kind's OpenAPI schema, as compiled into
// ajv validators by kubernetes-models (built-in kinds) and @kubernetes-models/cert-manager.
import { describeObject, kindInfo, kindKey } from './kinds';
import type { KubernetesObject } from './kinds';

/** One object that does not match its schema. */
export interface SchemaProblem {
  object: string;
  message: string;
}

/** Validates every object; an unknown kind is a problem too (nothing passes unchecked). */
export function validateSchemas(objects: readonly KubernetesObject[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const object of objects) {
    const info = kindInfo(object);
    if (info === undefined) {
      problems.push({
        object: describeObject(object),
        message: `no schema for ${kindKey(object)}`,
      });
      continue;
    }
    try {
      info.validate(object);
    } catch (err) {
      problems.push({ object: describeObject(object), message: (err as Error).message });
    }
  }
  return problems;
}
