/** The parts of a gRPC method path such as `/sigil.identity.v1.IdentityService/GetUser`. */
export interface MethodName {
  /** `sigil.identity.v1.IdentityService/GetUser` (no leading slash): the form policies use. */
  readonly fullName: string;
  /** `sigil.identity.v1.IdentityService` */
  readonly service: string;
  /** `GetUser` */
  readonly method: string;
}

const cache = new Map<string, MethodName>();
const MAX_CACHED = 4096;

/**
 * Splits a method path once; the result is memoised because grpc-js only hands interceptors
 * paths of registered handlers, a small fixed set.
 */
export function methodName(path: string): MethodName {
  let name = cache.get(path);
  if (name === undefined) {
    const fullName = path.startsWith('/') ? path.slice(1) : path;
    const slash = fullName.lastIndexOf('/');
    name = Object.freeze({
      fullName,
      service: slash === -1 ? '' : fullName.slice(0, slash),
      method: slash === -1 ? fullName : fullName.slice(slash + 1),
    });
    if (cache.size < MAX_CACHED) cache.set(path, name);
  }
  return name;
}

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
const SERVICE_PATTERN = new RegExp(`^${IDENTIFIER}(\\.${IDENTIFIER})*$`);
const METHOD_PATTERN = new RegExp(`^${IDENTIFIER}$`);

/** Method patterns may be written as gRPC paths (`/pkg.Service/Method`); policies store them without the slash. */
export function normalizeMethodPattern(pattern: string): string {
  return pattern.startsWith('/') ? pattern.slice(1) : pattern;
}

/** Why a normalised method pattern is invalid, or `undefined` when it is `*`, `pkg.Service/*` or `pkg.Service/Method`. */
export function methodPatternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  const slash = pattern.lastIndexOf('/');
  if (slash === -1) return 'must be "package.Service/Method", "package.Service/*" or "*"';
  const service = pattern.slice(0, slash);
  const method = pattern.slice(slash + 1);
  if (!SERVICE_PATTERN.test(service))
    return `has an invalid service name "${service}" (expected a dotted name like sigil.identity.v1.IdentityService)`;
  if (method !== '*' && !METHOD_PATTERN.test(method))
    return `has an invalid method name "${method}" (expected a name or "*")`;
  return undefined;
}

/**
 * A predicate over full method names for a list of patterns (same syntax as policy `methods`);
 * throws `invalid(pattern, problem)` for a bad one.
 */
export function methodMatcher(
  patterns: readonly string[],
  invalid: (pattern: string, problem: string) => never,
): (fullName: string) => boolean {
  const exact = new Set<string>();
  const services = new Set<string>();
  let any = false;
  for (const pattern of patterns) {
    const normalized = normalizeMethodPattern(pattern);
    const problem = methodPatternProblem(normalized);
    if (problem !== undefined) invalid(pattern, problem);
    if (normalized === '*') any = true;
    else if (normalized.endsWith('/*')) services.add(normalized.slice(0, -2));
    else exact.add(normalized);
  }
  return (fullName) => any || exact.has(fullName) || services.has(methodName(fullName).service);
}
