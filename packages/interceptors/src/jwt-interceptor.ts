import { readFileSync } from 'node:fs';
import { ServerInterceptingCall, status } from '@grpc/grpc-js';
import type { Metadata, ServerInterceptor } from '@grpc/grpc-js';
import { SigilError, toGrpcError } from '@sigil/errors';
import { tokenFingerprint } from '@sigil/pki';
import { parseBoolean, parseDurationSeconds, parseList } from '@sigil/settings';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import { workloadApiKeySet } from './internal/workload-api-keys';
import {
  createWorkloadApiClient,
  parseWorkloadApiEndpoint,
  type WorkloadApiClient,
} from '@sigil/workload-api';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { findCallState, callStateOf, outboundContext } from './internal/call-state';
import type { OutboundContext } from './internal/call-state';
import { defaultLogger } from './internal/default-logger';
import { methodMatcher, methodName } from './internal/method-path';
import { counter } from './internal/metrics';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';

/**
 * Where the token signing keys come from: a local JWKS file (read once, at creation), or a JWKS
 * URL (fetched on first use and cached by jose; refetched when a token names an unknown `kid`).
 * The URL must be `https:`, except on a loopback host.
 *
 * @example
 * ```ts
 * const fromFile: JwksSource = { file: '/etc/sigil/jwks.json' };
 * const fromUrl: JwksSource = { url: 'https://auth.example.org/.well-known/jwks.json', timeoutMs: 2000 };
 * ```
 */
export type JwksSource =
  | { file: string }
  /**
   * The JWT bundles of a SPIFFE Workload API (JWT-SVIDs; a Sigil connector's socket or SPIRE's):
   * the key set of the trust domain of the token's `sub`, fetched on first use and again after
   * `maxAgeMs` (default 30 s) or when a token names an unknown `kid`. The caller owns the client.
   */
  | { workloadApi: WorkloadApiClient; maxAgeMs?: number }
  | {
      url: string | URL;
      /** HTTP timeout; default 5000. */
      timeoutMs?: number;
      /** Minimum time between two fetches; default 30000. */
      cooldownMs?: number;
      /** Refetch after this long even without an unknown `kid`; default 600000. */
      cacheMaxAgeMs?: number;
    };

/**
 * Tenant isolation by a token claim.
 *
 * @example
 * ```ts
 * const tenant: TenantIsolationOptions = {
 *   claim: 'tenant_id',
 *   fromRequest: (message) => (message as { tenantId?: string }).tenantId,
 * };
 * ```
 */
export interface TenantIsolationOptions {
  /** The claim holding the caller's tenant; default `tenant_id`. A token without it is refused. */
  claim?: string;
  /** Request metadata naming the tenant a call is for; a different value is refused. Default `x-tenant-id`. */
  metadataKey?: string;
  /**
   * Extracts the tenant a request message is for (`undefined`: the message names none); a
   * different value is refused. Called for every request message, streaming ones included.
   */
  fromRequest?: (message: unknown, method: string) => string | undefined;
}

/**
 * Options of {@link createJwtInterceptor}.
 *
 * @example
 * ```ts
 * const options: JwtInterceptorOptions = {
 *   jwks: { url: 'https://auth.example.org/.well-known/jwks.json' },
 *   issuer: 'https://auth.example.org/',
 *   audience: 'sigil',
 *   tenant: { claim: 'tenant_id' },
 * };
 * ```
 */
export interface JwtInterceptorOptions {
  jwks: JwksSource;
  /** Accepted `iss` values; set it (and `audience`) so tokens minted for others are refused. */
  issuer?: string | string[];
  /** Accepted `aud` values. */
  audience?: string | string[];
  /** Accepted signature algorithms; default the asymmetric JWS ones (RS*, PS*, ES*, EdDSA). */
  algorithms?: string[];
  /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds; default 0. */
  clockToleranceSeconds?: number;
  /**
   * Refuse a token issued (`iat`) longer ago than this, in seconds, whatever its `exp`; a token
   * without `iat` is then refused too. Default: no limit beyond `exp`, which every token must carry.
   */
  maxTokenAgeSeconds?: number;
  /** When false, calls without a token pass (with no claims); a token that is present must still verify. Default true. */
  required?: boolean;
  /** Methods that need no token (policy method patterns); default `['grpc.health.v1.Health/*']`. */
  exemptMethods?: string[];
  /** Turns on tenant isolation. */
  tenant?: TenantIsolationOptions;
  /** Receives `jwt.rejected` warnings; default: a pino logger to stdout. */
  logger?: Logger;
  /** Where `sigil_jwt_rejected_total` is registered; default prom-client's global registry. */
  registry?: Registry;
  /** The verification clock (tests); default the system clock. */
  now?: () => Date;
}

const DEFAULT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const DEFAULT_TENANT_CLAIM = 'tenant_id';
const DEFAULT_TENANT_METADATA_KEY = 'x-tenant-id';
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

type RejectReason =
  | 'missing'
  | 'malformed'
  | 'invalid'
  | 'expired'
  | 'jwks-unavailable'
  | 'tenant-missing'
  | 'tenant-mismatch';

/**
 * A server interceptor that verifies the bearer JWT in the `authorization` metadata (jose; keys
 * from a JWKS file or URL), makes its claims available to handlers ({@link getClaims}) and runs
 * the handler in a context from which {@link createTokenForwardingInterceptor} forwards the token
 * on onward calls. A missing, malformed, badly signed or expired token, one without `exp` or
 * older than `maxTokenAgeSeconds`, ends the call with
 * `UNAUTHENTICATED`; a tenant mismatch (see {@link TenantIsolationOptions}) with
 * `PERMISSION_DENIED`; an unreachable JWKS URL with `UNAVAILABLE`. Each refusal is logged as
 * `jwt.rejected` (with a short token hash, never the token) and counted in
 * `sigil_jwt_rejected_total{grpc_service,grpc_method,reason}`. Configuration errors (unreadable
 * JWKS file, plain-http remote URL) throw `ERR_JWT_CONFIG_INVALID` here, at start-up; no
 * `issuer` or no `audience` is logged once as a `jwt.config-unchecked-claims` warning.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({
 *   interceptors: [
 *     createIdentityInterceptor(),
 *     createJwtInterceptor({ jwks: { file: '/etc/sigil/jwks.json' }, issuer: 'https://auth.example.org/', audience: 'sigil' }),
 *   ],
 * });
 * ```
 */
export function createJwtInterceptor(options: JwtInterceptorOptions): ServerInterceptor {
  const getKey = keySource(options.jwks);
  const logger = options.logger ?? defaultLogger();
  const required = options.required ?? true;
  const tenant = options.tenant;
  const tenantClaim = tenant?.claim ?? DEFAULT_TENANT_CLAIM;
  const tenantMetadataKey = tenant?.metadataKey ?? DEFAULT_TENANT_METADATA_KEY;
  const isExempt = methodMatcher(
    options.exemptMethods ?? ['grpc.health.v1.Health/*'],
    (pattern, problem) => {
      throw new SigilError(
        'ERR_JWT_CONFIG_INVALID',
        `JWT options: exemptMethods "${pattern}" ${problem}`,
        { details: { option: 'exemptMethods', value: pattern } },
      );
    },
  );
  const unchecked = (['issuer', 'audience'] as const).filter((key) => options[key] === undefined);
  if (unchecked.length > 0) {
    logger.warn(
      {
        event: 'jwt.config-unchecked-claims',
        unchecked,
        variables: unchecked.map((key) => JWT_ENV[key]),
      },
      `JWT interceptor: no ${unchecked.join(' and no ')} configured, so tokens minted for other services are accepted; set ${unchecked.map((key) => JWT_ENV[key]).join(' and ')} (options ${unchecked.join(', ')})`,
    );
  }
  const verifyOptions = {
    algorithms: options.algorithms ?? DEFAULT_ALGORITHMS,
    // A token without exp would be valid forever (RFC 7519 makes exp optional; we do not).
    requiredClaims: ['exp'],
    ...(options.maxTokenAgeSeconds === undefined
      ? {}
      : { maxTokenAge: options.maxTokenAgeSeconds }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    ...(options.clockToleranceSeconds === undefined
      ? {}
      : { clockTolerance: options.clockToleranceSeconds }),
  };
  const rejected = counter(options.registry, {
    name: 'sigil_jwt_rejected_total',
    help: 'gRPC calls refused because of their bearer token (missing, invalid, expired, wrong tenant).',
    labelNames: ['grpc_service', 'grpc_method', 'reason'] as const,
  });

  return (methodDescriptor, call) => {
    const name = methodName(methodDescriptor.path);
    if (isExempt(name.fullName)) return new ServerInterceptingCall(call);
    let refused = false;
    // Pending while the token is verified (a JWKS fetch can take a while); `verified` once done.
    let verification: Promise<boolean> | undefined;
    let verified = false;
    let outbound: OutboundContext | undefined;
    let requestMetadata: Metadata;
    let token: string | undefined;
    let tenantId: string | undefined;
    const inContext = (fn: () => void): void =>
      outbound === undefined ? fn() : outboundContext.run(outbound, fn);
    const refuse = (
      code: status,
      reason: RejectReason,
      message: string,
      metadata: Metadata,
      refusedToken?: string,
      error?: string,
    ): void => {
      refused = true;
      rejected.inc({ grpc_service: name.service, grpc_method: name.method, reason });
      logger.warn(
        {
          event: 'jwt.rejected',
          method: name.fullName,
          reason,
          spiffeId: resolvePeerIdentity(call, metadata)?.spiffeId,
          tokenHash: refusedToken === undefined ? undefined : tokenFingerprint(refusedToken),
          error,
        },
        'bearer token rejected',
      );
      call.sendStatus({ code, details: message });
    };
    const checkTenant = (requested: string | undefined, where: string): boolean => {
      if (requested === undefined || requested === tenantId) return true;
      refuse(
        status.PERMISSION_DENIED,
        'tenant-mismatch',
        `tenant mismatch: ${where} names tenant "${requested}" but the token is for tenant "${tenantId}"`,
        requestMetadata,
        token,
      );
      return false;
    };

    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            requestMetadata = metadata;
            const values = metadata.get('authorization');
            if (values.length === 0) {
              if (required)
                refuse(
                  status.UNAUTHENTICATED,
                  'missing',
                  'missing bearer token: send metadata "authorization: Bearer <JWT>"',
                  metadata,
                );
              else nextMetadata(metadata);
              return;
            }
            const match = values.length === 1 ? BEARER.exec(String(values[0])) : null;
            if (match === null) {
              refuse(
                status.UNAUTHENTICATED,
                'malformed',
                'the authorization metadata is not a single "Bearer <JWT>" value',
                metadata,
              );
              return;
            }
            const bearer = match[1]!;
            token = bearer;
            verification = jwtVerify(bearer, getKey, {
              ...verifyOptions,
              ...(options.now === undefined ? {} : { currentDate: options.now() }),
            })
              .then(
                ({ payload }) => {
                  if (refused) return false;
                  const claim = payload[tenantClaim];
                  tenantId =
                    typeof claim === 'string'
                      ? claim
                      : typeof claim === 'number'
                        ? String(claim)
                        : undefined;
                  if (tenant !== undefined) {
                    if (tenantId === undefined) {
                      refuse(
                        status.PERMISSION_DENIED,
                        'tenant-missing',
                        `the bearer token has no "${tenantClaim}" claim; this service requires one`,
                        metadata,
                        bearer,
                      );
                      return false;
                    }
                    const header = metadata.get(tenantMetadataKey);
                    if (
                      !checkTenant(
                        header.length === 0 ? undefined : String(header[0]),
                        `metadata "${tenantMetadataKey}"`,
                      )
                    )
                      return false;
                  }
                  const state = callStateOf(metadata);
                  state.claims = Object.freeze(payload);
                  state.token = bearer;
                  state.tokenHash = tokenFingerprint(bearer);
                  state.tenantId = tenantId;
                  outbound = { token: bearer };
                  verified = true;
                  inContext(() => nextMetadata(metadata));
                  return true;
                },
                (error: unknown) => {
                  const [code, reason, message] = classify(error, options.maxTokenAgeSeconds);
                  refuse(code, reason, message, metadata, bearer, (error as Error).message);
                  return false;
                },
              )
              .catch((error: unknown) => {
                // Something downstream threw while the call was being started; end it rather than leak a rejection.
                refused = true;
                logger.error(
                  {
                    event: 'jwt.internal-error',
                    method: name.fullName,
                    error: (error as Error).message,
                  },
                  'error after bearer token verification',
                );
                call.sendStatus({ code: status.INTERNAL, details: 'internal error' });
                return false;
              });
          },
          onReceiveMessage: (message, nextMessage) => {
            const forward = (): void => {
              if (refused) return;
              if (
                tenant?.fromRequest !== undefined &&
                !checkTenant(tenant.fromRequest(message, name.fullName), 'the request')
              )
                return;
              inContext(() => nextMessage(message));
            };
            // A message arriving while the token is still being verified is checked after.
            if (verification === undefined || verified) forward();
            else void verification.then((ok) => ok && forward());
          },
          onReceiveHalfClose: (nextHalfClose) => {
            const forward = (): void => {
              if (!refused) inContext(nextHalfClose);
            };
            if (verification === undefined || verified) forward();
            else void verification.then((ok) => ok && forward());
          },
        }),
    });
  };
}

/**
 * The verified JWT claims of a call, or `undefined` when no token was verified (no JWT
 * interceptor, or a call that needs none).
 *
 * @example
 * ```ts
 * getProfile(call, callback) {
 *   const claims = getClaims(call);
 *   callback(null, { userId: claims?.sub });
 * }
 * ```
 */
export function getClaims(call: { readonly metadata: Metadata }): Readonly<JWTPayload> | undefined {
  return findCallState(call.metadata)?.claims;
}

/**
 * Throws unless the call's verified token belongs to `tenantId` (the tenant claim configured on
 * the JWT interceptor, `tenant_id` by default). The thrown error carries a gRPC code
 * (`UNAUTHENTICATED` without a verified token, `PERMISSION_DENIED` for another tenant or no
 * tenant claim): pass it to the callback, or throw it from an async handler.
 *
 * @example
 * ```ts
 * getDocument(call, callback) {
 *   try {
 *     requireTenant(call, call.request.tenantId);
 *   } catch (err) {
 *     callback(err as grpc.ServiceError);
 *     return;
 *   }
 *   callback(null, load(call.request));
 * }
 * ```
 */
export function requireTenant(call: { readonly metadata: Metadata }, tenantId: string): void {
  const state = findCallState(call.metadata);
  if (state?.claims === undefined)
    throw toGrpcError(
      new SigilError('ERR_JWT_UNVERIFIED', 'this call has no verified bearer token'),
    );
  if (state.tenantId === undefined)
    throw toGrpcError(new SigilError('ERR_TENANT_MISMATCH', 'the bearer token names no tenant'));
  if (state.tenantId !== tenantId) {
    throw toGrpcError(
      new SigilError(
        'ERR_TENANT_MISMATCH',
        `tenant mismatch: the request is for tenant "${tenantId}" but the token is for tenant "${state.tenantId}"`,
        { details: { tenantId, tokenTenantId: state.tenantId } },
      ),
    );
  }
}

/** The environment variables read by {@link jwtOptionsFromEnv}. */
const JWT_ENV = {
  jwksFile: 'SIGIL_JWT_JWKS_FILE',
  jwksUrl: 'SIGIL_JWT_JWKS_URL',
  workloadApi: 'SIGIL_JWT_WORKLOAD_API',
  issuer: 'SIGIL_JWT_ISSUER',
  audience: 'SIGIL_JWT_AUDIENCE',
  algorithms: 'SIGIL_JWT_ALGORITHMS',
  required: 'SIGIL_JWT_REQUIRED',
  tenantClaim: 'SIGIL_JWT_TENANT_CLAIM',
  maxTokenAge: 'SIGIL_JWT_MAX_TOKEN_AGE',
} as const;

/**
 * JWT options from the environment, or `undefined` when none of `SIGIL_JWT_JWKS_FILE`,
 * `SIGIL_JWT_JWKS_URL` and `SIGIL_JWT_WORKLOAD_API` is set (JWT verification off). The last is a
 * SPIFFE Workload API (`unix:///path`, as `SPIFFE_ENDPOINT_SOCKET`; a Sigil connector's socket or
 * SPIRE's) whose JWT bundles verify JWT-SVIDs; it needs `SIGIL_JWT_AUDIENCE`, as the JWT-SVID
 * specification does, and its client (in `jwks.workloadApi`, connecting on the first token) is
 * the caller's to close. Also reads `SIGIL_JWT_ISSUER`,
 * `SIGIL_JWT_AUDIENCE` and `SIGIL_JWT_ALGORITHMS` (comma-separated), `SIGIL_JWT_REQUIRED`
 * (`true`/`false`, also 1/0, yes/no, on/off as every Sigil boolean; default true), `SIGIL_JWT_TENANT_CLAIM` (turns on tenant isolation)
 * and `SIGIL_JWT_MAX_TOKEN_AGE` (a duration such as `1h`: {@link JwtInterceptorOptions.maxTokenAgeSeconds}).
 * Throws `ERR_JWT_CONFIG_INVALID` naming the variable for a bad value.
 *
 * @example
 * ```ts
 * const jwt = jwtOptionsFromEnv(process.env);
 * const interceptors = createServerInterceptors({ policy, logger, ...(jwt ? { jwt } : {}) });
 * // SIGIL_JWT_WORKLOAD_API=unix:///run/sigil/workload-api.sock SIGIL_JWT_AUDIENCE=billing
 * // and at shutdown:
 * if (jwt !== undefined && 'workloadApi' in jwt.jwks) jwt.jwks.workloadApi.close();
 * ```
 */
export function jwtOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): JwtInterceptorOptions | undefined {
  const read = (name: string): string | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : env[name];
  const list = (name: string): string[] | undefined => {
    const raw = read(name);
    return raw === undefined ? undefined : parseList(raw);
  };
  const file = read(JWT_ENV.jwksFile);
  const url = read(JWT_ENV.jwksUrl);
  const workloadApi = read(JWT_ENV.workloadApi);
  const sources = [JWT_ENV.jwksFile, JWT_ENV.jwksUrl, JWT_ENV.workloadApi];
  const given = sources.filter((name) => read(name) !== undefined);
  if (given.length > 1) {
    throw new SigilError('ERR_JWT_CONFIG_INVALID', `set only one of ${given.join(' and ')}`, {
      details: { variables: given },
    });
  }
  if (given.length === 0) return undefined;
  const requiredText = read(JWT_ENV.required);
  const required =
    requiredText === undefined
      ? undefined
      : parseBoolean(requiredText, JWT_ENV.required, 'ERR_JWT_CONFIG_INVALID');
  const issuer = list(JWT_ENV.issuer);
  const audience = list(JWT_ENV.audience);
  const algorithms = list(JWT_ENV.algorithms);
  const tenantClaim = read(JWT_ENV.tenantClaim);
  const maxTokenAgeText = read(JWT_ENV.maxTokenAge);
  const maxTokenAgeSeconds =
    maxTokenAgeText === undefined ? undefined : maxTokenAgeOf(maxTokenAgeText);
  if (workloadApi !== undefined && audience === undefined)
    throw new SigilError(
      'ERR_JWT_CONFIG_INVALID',
      `${JWT_ENV.workloadApi} needs ${JWT_ENV.audience}: a JWT-SVID is valid only for the audience it names`,
      { details: { variable: JWT_ENV.audience } },
    );
  return {
    jwks:
      workloadApi !== undefined
        ? { workloadApi: workloadApiClientOf(workloadApi) }
        : file !== undefined
          ? { file }
          : { url: url! },
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
    ...(algorithms === undefined ? {} : { algorithms }),
    ...(required === undefined ? {} : { required }),
    ...(tenantClaim === undefined ? {} : { tenant: { claim: tenantClaim } }),
    ...(maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeSeconds }),
  };
}

/** A Workload API client for `SIGIL_JWT_WORKLOAD_API` (`unix:///path`; a bare absolute path too). */
function workloadApiClientOf(value: string): WorkloadApiClient {
  let endpoint;
  try {
    endpoint = parseWorkloadApiEndpoint(
      value.startsWith('/') ? `unix://${value}` : value,
      JWT_ENV.workloadApi,
    );
  } catch (cause) {
    throw new SigilError('ERR_JWT_CONFIG_INVALID', (cause as Error).message, {
      cause,
      details: { variable: JWT_ENV.workloadApi, value },
    });
  }
  return createWorkloadApiClient({ endpoint });
}

function maxTokenAgeOf(text: string): number {
  try {
    return parseDurationSeconds(text, JWT_ENV.maxTokenAge, [1, 366 * 86_400]);
  } catch (cause) {
    throw new SigilError('ERR_JWT_CONFIG_INVALID', (cause as Error).message, {
      cause,
      details: { variable: JWT_ENV.maxTokenAge, value: text },
    });
  }
}

function keySource(source: JwksSource): JWTVerifyGetKey {
  if ('file' in source) return localKeySet(source.file);
  if ('workloadApi' in source) return workloadApiKeySet(source.workloadApi, source.maxAgeMs);
  let url: URL;
  try {
    url = new URL(source.url);
  } catch (cause) {
    throw new SigilError(
      'ERR_JWT_CONFIG_INVALID',
      `JWKS URL "${String(source.url)}" is not a valid URL`,
      { cause, details: { url: String(source.url) } },
    );
  }
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  ) {
    throw new SigilError(
      'ERR_JWT_CONFIG_INVALID',
      `JWKS URL ${url.href} must use https: (plain http is only accepted on a loopback host)`,
      {
        details: { url: url.href },
      },
    );
  }
  return createRemoteJWKSet(url, {
    ...(source.timeoutMs === undefined ? {} : { timeoutDuration: source.timeoutMs }),
    ...(source.cooldownMs === undefined ? {} : { cooldownDuration: source.cooldownMs }),
    ...(source.cacheMaxAgeMs === undefined ? {} : { cacheMaxAge: source.cacheMaxAgeMs }),
  });
}

function localKeySet(file: string): JWTVerifyGetKey {
  const fail = (problem: string, cause?: unknown): never => {
    throw new SigilError('ERR_JWT_CONFIG_INVALID', `JWKS file ${file}: ${problem}`, {
      cause,
      details: { file },
    });
  };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    fail(
      (cause as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file'
        : `cannot read the file (${(cause as Error).message})`,
      cause,
    );
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch (cause) {
    fail(`not valid JSON (${(cause as Error).message})`, cause);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    fail('expected a JSON Web Key Set: {"keys": [ ...at least one key... ]}');
  (keys as unknown[]).forEach((key, i) => {
    if (typeof (key as { kty?: unknown } | null)?.kty !== 'string') fail(`keys[${i}] has no "kty"`);
    if ((key as { d?: unknown }).d !== undefined)
      fail(`keys[${i}] is a private key; publish only public keys`);
  });
  return createLocalJWKSet(jwks as JSONWebKeySet);
}

function classify(
  error: unknown,
  maxTokenAgeSeconds: number | undefined,
): [status, RejectReason, string] {
  if (error instanceof joseErrors.JWTExpired) {
    return error.claim === 'iat'
      ? [
          status.UNAUTHENTICATED,
          'expired',
          `the bearer token is too old: issued more than ${maxTokenAgeSeconds}s ago (the maximum token age)`,
        ]
      : [status.UNAUTHENTICATED, 'expired', 'the bearer token has expired'];
  }
  // A token the Workload API's bundles cannot verify (no JWT-SVID `sub`, a trust domain it has
  // no bundle for) is the caller's fault, not an outage.
  if (error instanceof SigilError && error.code === 'ERR_JWT_SVID_INVALID')
    return [status.UNAUTHENTICATED, 'invalid', `invalid bearer token: ${error.message}`];
  if (
    error instanceof joseErrors.JWKSTimeout ||
    error instanceof joseErrors.JWKSInvalid ||
    !(error instanceof joseErrors.JOSEError) ||
    error.code === 'ERR_JOSE_GENERIC'
  ) {
    return [
      status.UNAVAILABLE,
      'jwks-unavailable',
      'cannot verify the bearer token: the JWKS is unavailable',
    ];
  }
  return [status.UNAUTHENTICATED, 'invalid', `invalid bearer token: ${error.message}`];
}
