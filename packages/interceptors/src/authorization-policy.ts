import { readFileSync } from 'node:fs';
import { SigilError } from '@sigil/errors';
import { authorizeUnder, parseSpiffeId } from '@sigil/pki';
import type { SpiffeIdMatcher } from '@sigil/pki';
import { parseDocument } from 'yaml';
import { BoundedCache } from './internal/bounded-cache';
import { methodName, methodPatternProblem, normalizeMethodPattern } from './internal/method-path';

/**
 * The environment variable naming the policy file read by {@link authorizationPolicyFromEnv}.
 *
 * @example
 * ```ts
 * if (!process.env[AUTHZ_POLICY_ENV]) logger.info({ event: 'authz.policy.default' }, `${AUTHZ_POLICY_ENV} not set, using the built-in policy`);
 * ```
 */
export const AUTHZ_POLICY_ENV = 'SIGIL_AUTHZ_POLICY';

/**
 * Whether `grpc.health.v1` methods bypass the rules (`open`, the default) or obey them (`restricted`).
 *
 * @example
 * ```ts
 * const health: HealthAccess = policy.health; // 'open' unless the policy file says `health: restricted`
 * ```
 */
export type HealthAccess = 'open' | 'restricted';

/**
 * An authorization policy as written in a YAML or JSON file (see docs/authorization.md).
 *
 * @example
 * ```ts
 * const document: AuthorizationPolicyDocument = {
 *   rules: [{ name: 'user-service', methods: ['sigil.identity.v1.IdentityService/*'], callers: ['spiffe://example.org/svc/user-service'] }],
 * };
 * ```
 */
export interface AuthorizationPolicyDocument {
  /** Format version; only `1` exists. Optional. */
  version?: 1;
  /** Default `open`. */
  health?: HealthAccess;
  /** Allow rules; a call no rule allows is denied. */
  rules: AuthorizationRuleDocument[];
}

/**
 * One allow rule: every caller in `callers` may call every method in `methods`; or, with
 * `public: true` instead of `callers`, every caller may, including one without a client
 * certificate (on a server with `clientCertificate: 'request'`) or with one that was not
 * accepted. A public rule is the only way to let an unauthenticated caller through.
 *
 * @example
 * ```ts
 * const rule: AuthorizationRuleDocument = {
 *   name: 'workloads-read-health-of-users',
 *   methods: ['sigil.user.v1.UserService/GetUser', 'sigil.user.v1.UserService/ListUsers'],
 *   callers: ['spiffe://example.org/svc/*'],
 * };
 * const enrolment: AuthorizationRuleDocument = { name: 'enrolment', methods: ['sigil.enroll.v1.EnrollService/*'], public: true };
 * ```
 */
export interface AuthorizationRuleDocument {
  /** Shown in logs and errors; defaults to `rules[<index>]`. Unique within a policy. */
  name?: string;
  /** `package.Service/Method`, `package.Service/*` or `*`. */
  methods: string[];
  /** An exact SPIFFE ID, or a prefix ending in `/*` (`spiffe://td/*` is the whole trust domain). Not with `public`. */
  callers?: string[];
  /** `true`: any caller, authenticated or not, may call `methods`. Not with `callers`. */
  public?: boolean;
}

/**
 * A validated, compiled authorization policy from {@link loadAuthorizationPolicy}. Immutable;
 * evaluate it with {@link evaluatePolicy}.
 *
 * @example
 * ```ts
 * const policy: AuthorizationPolicy = loadAuthorizationPolicy('/etc/sigil/authz.yaml');
 * console.log(policy.source, policy.rules.length);
 * ```
 */
export interface AuthorizationPolicy {
  /** Where the policy came from (a file path, or the `source` given for an in-memory document). */
  readonly source: string;
  readonly health: HealthAccess;
  readonly rules: readonly AuthorizationRule[];
}

/**
 * A rule of a compiled policy: names filled in, method patterns without a leading slash.
 *
 * @example
 * ```ts
 * for (const rule of policy.rules) console.log(rule.name, rule.methods, rule.callers);
 * ```
 */
export interface AuthorizationRule {
  readonly name: string;
  readonly methods: readonly string[];
  /** Empty for a public rule. */
  readonly callers: readonly string[];
  /** Any caller, with or without a client certificate (compiled policies always say true or false). */
  readonly public?: boolean;
}

/**
 * Why {@link evaluatePolicy} decided as it did: `rule-matched` (allowed by `rule`), `public-method`
 * (allowed by the public rule `rule`, whoever calls), `health-open` (a `grpc.health.v1` method
 * under `health: open`), `no-spiffe-id` (the caller presented no certificate or one without a
 * SPIFFE ID) or `no-matching-rule`.
 *
 * @example
 * ```ts
 * const reason: PolicyDecisionReason = evaluatePolicy(policy, request).reason;
 * ```
 */
export type PolicyDecisionReason =
  'rule-matched' | 'public-method' | 'health-open' | 'no-spiffe-id' | 'no-matching-rule';

/**
 * The question asked of a policy.
 *
 * @example
 * ```ts
 * const request: PolicyRequest = { spiffeId: 'spiffe://example.org/svc/user-service', method: '/sigil.identity.v1.IdentityService/GetUser' };
 * ```
 */
export interface PolicyRequest {
  /** The caller's SPIFFE ID; absent when it has none. */
  spiffeId?: string | undefined;
  /** `/package.Service/Method` (as grpc-js gives it) or `package.Service/Method`. */
  method: string;
}

/**
 * The answer of {@link evaluatePolicy}.
 *
 * @example
 * ```ts
 * const decision: PolicyDecision = evaluatePolicy(policy, request);
 * if (!decision.allowed) console.log(decision.reason);
 * ```
 */
export interface PolicyDecision {
  readonly allowed: boolean;
  /** The name of the rule that allowed the call. */
  readonly rule?: string;
  readonly reason: PolicyDecisionReason;
}

/**
 * Options of {@link loadAuthorizationPolicy}.
 *
 * @example
 * ```ts
 * loadAuthorizationPolicy(defaultPolicy, { source: 'identity-service default policy' });
 * ```
 */
export interface LoadAuthorizationPolicyOptions {
  /** Names an in-memory document in errors and logs; default `inline policy`. Ignored for files. */
  source?: string;
}

const HEALTH_PACKAGE = 'grpc.health.v1.';
const TOP_LEVEL_FIELDS = ['version', 'health', 'rules'];
const RULE_FIELDS = ['name', 'methods', 'callers', 'public'];
const PREFIX_SUFFIX = '/*';
const METHOD_INDEX_CACHE_SIZE = 4096;

const HEALTH_OPEN: PolicyDecision = Object.freeze({ allowed: true, reason: 'health-open' });
const NO_SPIFFE_ID: PolicyDecision = Object.freeze({ allowed: false, reason: 'no-spiffe-id' });
const NO_MATCHING_RULE: PolicyDecision = Object.freeze({
  allowed: false,
  reason: 'no-matching-rule',
});

/**
 * Loads, validates and compiles an authorization policy, from a YAML or JSON file (JSON is read
 * as YAML 1.2, of which it is a subset) or from an in-memory document. Any problem (unreadable
 * file, bad YAML, unknown field, bad method pattern, invalid SPIFFE ID, duplicate rule name)
 * throws one `SigilError` (`ERR_AUTHZ_POLICY_UNREADABLE` or `ERR_AUTHZ_POLICY_INVALID`) naming
 * the file and the offending rule.
 *
 * @example
 * ```ts
 * const policy = loadAuthorizationPolicy('/etc/sigil/authz.yaml');
 * const inline = loadAuthorizationPolicy(
 *   { rules: [{ methods: ['sigil.user.v1.UserService/*'], callers: ['spiffe://example.org/svc/content-service'] }] },
 *   { source: 'user-service default policy' },
 * );
 * ```
 */
export function loadAuthorizationPolicy(
  pathOrDocument: string | AuthorizationPolicyDocument,
  options: LoadAuthorizationPolicyOptions = {},
): AuthorizationPolicy {
  if (typeof pathOrDocument === 'string') return loadPolicyFile(pathOrDocument);
  return compilePolicy(pathOrDocument, options.source ?? 'inline policy', {});
}

/**
 * The policy named by `SIGIL_AUTHZ_POLICY` in `env` when it is set (and not empty), else
 * `fallback` (a service's built-in policy), else the empty policy: deny every call except
 * `grpc.health.v1`. Errors name the variable as well as the file.
 *
 * @example
 * ```ts
 * const policy = authorizationPolicyFromEnv(process.env, {
 *   rules: [{ name: 'user-service', methods: ['sigil.identity.v1.IdentityService/*'], callers: ['spiffe://example.org/svc/user-service'] }],
 * });
 * ```
 */
export function authorizationPolicyFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  fallback?: AuthorizationPolicyDocument | AuthorizationPolicy,
): AuthorizationPolicy {
  const path = env[AUTHZ_POLICY_ENV];
  if (path !== undefined && path !== '') return loadPolicyFile(path, AUTHZ_POLICY_ENV);
  if (fallback === undefined)
    return compilePolicy({ rules: [] }, `empty policy (${AUTHZ_POLICY_ENV} not set)`, {});
  if (compiledPolicies.has(fallback as AuthorizationPolicy)) return fallback as AuthorizationPolicy;
  return compilePolicy(fallback, `default policy (${AUTHZ_POLICY_ENV} not set)`, {});
}

/**
 * Decides whether a caller may call a method. Pure and allocation-free on the hot path: rules are
 * indexed by method once, and the per-method caller index is memoised. Deny by default; the
 * first rule (in file order) that allows the call is reported.
 *
 * Matching: a method pattern `pkg.Service/Method` matches that method, `pkg.Service/*` every
 * method of the service, `*` every method. A caller pattern matches the identical SPIFFE ID, or,
 * ending in `/*`, every SPIFFE ID strictly below that path (`spiffe://td/*` is any workload of
 * trust domain `td`, never another trust domain and never `spiffe://td` itself). A public rule
 * matches every caller, also one with no SPIFFE ID (`spiffeId` absent).
 *
 * @example
 * ```ts
 * const decision = evaluatePolicy(policy, {
 *   spiffeId: 'spiffe://example.org/svc/user-service',
 *   method: '/sigil.identity.v1.IdentityService/GetUser',
 * });
 * // { allowed: true, rule: 'user-service', reason: 'rule-matched' }
 * evaluatePolicy(policy, { method: '/sigil.enroll.v1.EnrollService/Enroll' });
 * // { allowed: true, rule: 'enrolment', reason: 'public-method' } with a public rule for it
 * ```
 */
export function evaluatePolicy(
  policy: AuthorizationPolicy,
  request: PolicyRequest,
): PolicyDecision {
  const compiled = compiledPolicies.get(policy) ?? compileForeign(policy);
  const name = methodName(request.method);
  if (compiled.healthOpen && name.service.startsWith(HEALTH_PACKAGE)) return HEALTH_OPEN;
  const spiffeId = request.spiffeId;
  const index = methodIndex(compiled, name.fullName, name.service);
  if (spiffeId === undefined || spiffeId === '')
    return index.publicRule === undefined ? NO_SPIFFE_ID : compiled.allowedBy[index.publicRule]!;
  let best = Math.min(
    index.exact.get(spiffeId) ?? Number.POSITIVE_INFINITY,
    index.publicRule ?? Number.POSITIVE_INFINITY,
  );
  for (const { under, rule } of index.prefixes) {
    if (rule >= best) break;
    if (under(spiffeId) && isValidSpiffeId(spiffeId)) {
      best = rule;
      break;
    }
  }
  return best === Number.POSITIVE_INFINITY ? NO_MATCHING_RULE : compiled.allowedBy[best]!;
}

interface CompiledRule {
  readonly public: boolean;
  readonly exact: readonly string[];
  /** One per `spiffe://.../*` caller pattern. */
  readonly prefixes: readonly SpiffeIdMatcher[];
}

interface MethodIndex {
  /** The first public rule covering the method. */
  readonly publicRule: number | undefined;
  readonly exact: ReadonlyMap<string, number>;
  readonly prefixes: readonly { under: SpiffeIdMatcher; rule: number }[];
}

interface CompiledPolicy {
  readonly healthOpen: boolean;
  readonly rules: readonly CompiledRule[];
  readonly allowedBy: readonly PolicyDecision[];
  readonly byMethod: ReadonlyMap<string, readonly number[]>;
  readonly byService: ReadonlyMap<string, readonly number[]>;
  readonly anyMethod: readonly number[];
  readonly methodIndexes: BoundedCache<string, MethodIndex>;
}

const compiledPolicies = new WeakMap<AuthorizationPolicy, CompiledPolicy>();
const validIds = new BoundedCache<string, boolean>(1024);

function isValidSpiffeId(id: string): boolean {
  let valid = validIds.get(id);
  if (valid === undefined) {
    try {
      valid = parseSpiffeId(id).toString() === id;
    } catch {
      valid = false;
    }
    validIds.set(id, valid);
  }
  return valid;
}

function methodIndex(compiled: CompiledPolicy, fullName: string, service: string): MethodIndex {
  let index = compiled.methodIndexes.get(fullName);
  if (index !== undefined) return index;
  const ruleNumbers = [
    ...(compiled.byMethod.get(fullName) ?? []),
    ...(compiled.byService.get(service) ?? []),
    ...compiled.anyMethod,
  ];
  ruleNumbers.sort((a, b) => a - b);
  const exact = new Map<string, number>();
  const prefixes: { under: SpiffeIdMatcher; rule: number }[] = [];
  let publicRule: number | undefined;
  for (const rule of new Set(ruleNumbers)) {
    const compiledRule = compiled.rules[rule]!;
    if (compiledRule.public) publicRule ??= rule;
    for (const id of compiledRule.exact) if (!exact.has(id)) exact.set(id, rule);
    for (const under of compiledRule.prefixes) prefixes.push({ under, rule });
  }
  index = { publicRule, exact, prefixes };
  compiled.methodIndexes.set(fullName, index);
  return index;
}

/** A policy object not made by this module (e.g. a hand-built literal): validate and compile it. */
function compileForeign(policy: AuthorizationPolicy): CompiledPolicy {
  const rebuilt = compilePolicy(
    {
      health: policy.health,
      rules: policy.rules.map((r) =>
        r.public === true
          ? { name: r.name, methods: [...r.methods], public: true }
          : { name: r.name, methods: [...r.methods], callers: [...r.callers] },
      ),
    },
    policy.source,
    {},
  );
  const compiled = compiledPolicies.get(rebuilt)!;
  compiledPolicies.set(policy, compiled);
  return compiled;
}

interface ErrorContext {
  file?: string;
  variable?: string;
}

function loadPolicyFile(path: string, variable?: string): AuthorizationPolicy {
  const context: ErrorContext = variable === undefined ? { file: path } : { file: path, variable };
  const source = variable === undefined ? path : `${path} (${variable})`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason =
      (cause as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file'
        : (cause as Error).message;
    throw new SigilError(
      'ERR_AUTHZ_POLICY_UNREADABLE',
      `authorization policy ${source}: cannot read the file (${reason})`,
      {
        cause,
        details: { ...context },
      },
    );
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    throw new SigilError(
      'ERR_AUTHZ_POLICY_INVALID',
      `authorization policy ${source}: not valid YAML or JSON: ${first.message.split('\n')[0]!.replace(/:$/, '')}`,
      {
        cause: first,
        details: { ...context, line: first.linePos?.[0].line },
      },
    );
  }
  return compilePolicy(document.toJS() as unknown, source, context);
}

function compilePolicy(input: unknown, source: string, context: ErrorContext): AuthorizationPolicy {
  const fail = (
    where: string | undefined,
    problem: string,
    details: Record<string, unknown> = {},
  ): never => {
    throw new SigilError(
      'ERR_AUTHZ_POLICY_INVALID',
      `authorization policy ${source}: ${where === undefined ? '' : `${where}: `}${problem}`,
      {
        details: { source, ...context, ...details },
      },
    );
  };
  if (input === null || input === undefined)
    fail(undefined, 'the policy is empty (expected a mapping with a "rules" list)');
  if (!isPlainObject(input)) fail(undefined, 'the policy must be a mapping with a "rules" list');
  const document = input as Record<string, unknown>;
  checkFields(document, TOP_LEVEL_FIELDS, (field) =>
    fail(undefined, `unknown field "${field}" (expected one of ${TOP_LEVEL_FIELDS.join(', ')})`, {
      field,
    }),
  );
  if (document.version !== undefined && document.version !== 1)
    fail('version', `unsupported version ${JSON.stringify(document.version)} (only 1 exists)`, {
      field: 'version',
    });
  const health = document.health ?? 'open';
  if (health !== 'open' && health !== 'restricted')
    fail('health', `must be "open" or "restricted", not ${JSON.stringify(health)}`, {
      field: 'health',
    });
  if (!Array.isArray(document.rules))
    fail('rules', 'must be a list of rules (use [] to deny everything)', { field: 'rules' });

  const names = new Set<string>();
  const rules: AuthorizationRule[] = [];
  const compiledRules: CompiledRule[] = [];
  const byMethod = new Map<string, number[]>();
  const byService = new Map<string, number[]>();
  const anyMethod: number[] = [];
  (document.rules as unknown[]).forEach((raw, index) => {
    const label = `rules[${index}]`;
    let where = label;
    const ruleFail = (problem: string, details: Record<string, unknown> = {}): never =>
      fail(where, problem, { rule: label, ...details });
    if (!isPlainObject(raw))
      ruleFail('a rule must be a mapping with "methods" and "callers" (or "public: true")');
    const rule = raw as Record<string, unknown>;
    if (rule.name !== undefined && (typeof rule.name !== 'string' || rule.name.trim() === ''))
      ruleFail('"name" must be a non-empty string', { field: 'name' });
    const name = (rule.name as string | undefined) ?? label;
    if (rule.name !== undefined) where = `${label} "${name}"`;
    checkFields(rule, RULE_FIELDS, (field) =>
      ruleFail(`unknown field "${field}" (expected one of ${RULE_FIELDS.join(', ')})`, { field }),
    );
    if (names.has(name)) ruleFail(`duplicate rule name "${name}"`, { field: 'name' });
    names.add(name);

    const methods = stringList(rule.methods, 'methods', ruleFail).map((pattern, i) => {
      const normalized = normalizeMethodPattern(pattern);
      const problem = methodPatternProblem(normalized);
      if (problem !== undefined)
        ruleFail(`methods[${i}] "${pattern}" ${problem}`, {
          field: `methods[${i}]`,
          value: pattern,
        });
      return normalized;
    });
    if (rule.public !== undefined && typeof rule.public !== 'boolean')
      ruleFail(`"public" must be true or false, not ${JSON.stringify(rule.public)}`, {
        field: 'public',
      });
    const isPublic = rule.public === true;
    if (isPublic && rule.callers !== undefined)
      ruleFail('a public rule admits every caller: give "public: true" or "callers", not both', {
        field: 'callers',
      });
    const exact: string[] = [];
    const prefixes: SpiffeIdMatcher[] = [];
    const callerPatterns = isPublic ? [] : stringList(rule.callers, 'callers', ruleFail);
    const callers = callerPatterns.map((pattern, i) => {
      const isPrefix = pattern.endsWith(PREFIX_SUFFIX);
      const id = isPrefix ? pattern.slice(0, -PREFIX_SUFFIX.length) : pattern;
      try {
        if (isPrefix) prefixes.push(authorizeUnder(id));
        else exact.push(String(parseSpiffeId(id)));
      } catch (cause) {
        const rule = (cause as SigilError).details?.rule ?? (cause as Error).message;
        ruleFail(
          `callers[${i}] "${pattern}" is not a valid SPIFFE ID${isPrefix ? ' prefix' : ''} (${String(rule)})`,
          {
            field: `callers[${i}]`,
            value: pattern,
          },
        );
      }
      return pattern;
    });

    for (const method of methods) {
      if (method === '*') anyMethod.push(index);
      else if (method.endsWith(PREFIX_SUFFIX))
        push(byService, method.slice(0, -PREFIX_SUFFIX.length), index);
      else push(byMethod, method, index);
    }
    rules.push(
      Object.freeze({
        name,
        methods: Object.freeze(methods),
        callers: Object.freeze(callers),
        public: isPublic,
      }),
    );
    compiledRules.push({ public: isPublic, exact, prefixes });
  });

  const policy: AuthorizationPolicy = Object.freeze({
    source,
    health: health as HealthAccess,
    rules: Object.freeze(rules),
  });
  compiledPolicies.set(policy, {
    healthOpen: health === 'open',
    rules: compiledRules,
    allowedBy: rules.map((r) =>
      Object.freeze({
        allowed: true,
        rule: r.name,
        reason: r.public === true ? ('public-method' as const) : ('rule-matched' as const),
      }),
    ),
    byMethod,
    byService,
    anyMethod,
    methodIndexes: new BoundedCache(METHOD_INDEX_CACHE_SIZE),
  });
  return policy;
}

function stringList(
  value: unknown,
  field: string,
  fail: (problem: string, details?: Record<string, unknown>) => never,
): string[] {
  if (!Array.isArray(value) || value.length === 0)
    fail(`"${field}" must be a non-empty list`, { field });
  (value as unknown[]).forEach((item, i) => {
    if (typeof item !== 'string' || item === '')
      fail(`${field}[${i}] must be a non-empty string, not ${JSON.stringify(item)}`, {
        field: `${field}[${i}]`,
      });
  });
  return value as string[];
}

function checkFields(
  object: Record<string, unknown>,
  allowed: readonly string[],
  fail: (field: string) => never,
): void {
  for (const field of Object.keys(object)) if (!allowed.includes(field)) fail(field);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else if (list[list.length - 1] !== value) list.push(value);
}
